/**
 * Port of the parts of libzmq tests/test_spec_pushpull.cpp that
 * test/socket-types/push.test.ts and pull.test.ts do not already cover (round
 * robin, fair queuing and blocking with no peers are there):
 *
 *  - destroy_queue_on_disconnect (disabled in libzmq "until libzmq does
 *    this properly"; Privateer does): when a peer disconnects, both ends
 *    discard that connection's queues, and a reconnected peer starts empty;
 *  - push_multipart_atomic_drop: around a disconnect and an immediate
 *    reconnect, a multipart message with a frame larger than the socket
 *    buffers is delivered whole or not at all, never its tail alone.
 */
import { Pull, Push } from "../../src";
import { closeAll, link, nextEvent, TRANSPORTS } from "../helpers/endpoints";

describe("test_spec_pushpull: destroy_queue_on_disconnect over inproc (exact counts)", () => {
  let a: Push | undefined;
  let b: Pull | undefined;
  afterEach(() => closeAll(a, b));

  it("discards both queues of a disconnected peer; the reconnected peer holds sndhwm + rcvhwm again", async () => {
    a = new Push({ sendHighWaterMark: 1, sendTimeout: 0 });
    b = new Pull({ receiveHighWaterMark: 1, receiveTimeout: 0 });
    const endpoint = await link(a, [b], "inproc");
    await a.send("ABC");
    await a.send("DEF");
    // Both queues are full.
    await expect(a.send("refused")).rejects.toMatchObject({ code: "EAGAIN" });

    b.disconnect(endpoint);
    // Can't receive old data, and there is nobody to send to.
    await expect(b.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(a.send("refused")).rejects.toMatchObject({ code: "EAGAIN" });

    const back = nextEvent(a, "handshake");
    b.connect(endpoint);
    await back;
    await expect(b.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    await a.send("GHI");
    await a.send("JKL");
    await expect(a.send("refused")).rejects.toMatchObject({ code: "EAGAIN" });
    expect((await b.receive()).map(String)).toEqual(["GHI"]);
    expect((await b.receive()).map(String)).toEqual(["JKL"]);
  });
});

describe.each(["tcp", "ipc"] as const)("test_spec_pushpull: destroy_queue_on_disconnect over %s", (transport) => {
  let a: Push | undefined;
  let b: Pull | undefined;
  afterEach(() => closeAll(a, b));

  it("a reconnected peer gets none of what was queued for its old connection", async () => {
    a = new Push({ sendHighWaterMark: 1 });
    b = new Pull({ receiveHighWaterMark: 1 });
    const endpoint = await link(a, [b], transport);
    await a.send("ABC");
    await a.send("DEF");

    const gone = nextEvent(a, "disconnect");
    a.sendTimeout = 0;
    b.disconnect(endpoint);
    await gone;
    b.receiveTimeout = 0;
    await expect(b.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(a.send("refused")).rejects.toMatchObject({ code: "EAGAIN" });

    const back = nextEvent(a, "handshake");
    b.connect(endpoint);
    await back;
    await a.send("GHI");
    b.receiveTimeout = -1;
    expect((await b.receive()).map(String)).toEqual(["GHI"]);
  });
});

describe.each(TRANSPORTS)("test_spec_pushpull: push_multipart_atomic_drop over %s", (transport) => {
  let push: Push | undefined;
  let pull: Pull | undefined;
  afterEach(() => closeAll(push, pull));

  // 2 MiB: far more than the socket buffers, so a message is still being written when the connection goes.
  const LEN = 2 * 1024 * 1024;
  const big = (fill: string): Buffer => Buffer.alloc(LEN, fill);

  it("delivers each multipart message whole or not at all across a disconnect and an immediate reconnect", async () => {
    push = new Push({ sendHighWaterMark: 1, linger: 0 });
    pull = new Pull({ receiveHighWaterMark: 1, linger: 0 });
    const endpoint = await link(push, [pull], transport);

    // Normal case: the queues work.
    await push.send(["0", "0", big("a")]);
    const normal = await pull.receive();
    expect(normal.slice(0, 2).map(String)).toEqual(["0", "0"]);
    expect(normal[2]!.equals(big("a"))).toBe(true);

    // Fill both marks, one message each; these may wait, so they are not awaited.
    const early = [push.send(["1"]), push.send(["2", "2", big("b")])];
    for (const p of early) p.catch(() => undefined);

    const gone = nextEvent(push, "disconnect");
    pull.disconnect(endpoint);
    await gone;
    // Reconnect and at once push a large message.
    pull.connect(endpoint);
    const late = [push.send(["3", "3", big("c"), "3b"]), push.send(["5", "5", big("d")])];

    const shapes: Record<string, (m: Buffer[]) => boolean> = {
      "1": (m) => m.length === 1,
      "2": (m) => m.length === 3 && m[1]!.toString() === "2" && m[2]!.equals(big("b")),
      "3": (m) => m.length === 4 && m[1]!.toString() === "3" && m[2]!.equals(big("c")) && m[3]!.toString() === "3b",
      "5": (m) => m.length === 3 && m[1]!.toString() === "5" && m[2]!.equals(big("d")),
    };
    const tags: string[] = [];
    for (;;) {
      const message = await pull.receive();
      const tag = message[0]!.toString();
      expect(Object.keys(shapes)).toContain(tag);
      expect(shapes[tag]!(message)).toBe(true);
      tags.push(tag);
      if (tag === "5") break;
    }
    // Whatever survived arrived in send order, and both late messages made it.
    expect([...tags].sort()).toEqual(tags);
    expect(tags).toContain("3");
    await Promise.all(late);
  });
});
