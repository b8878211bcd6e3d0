/**
 * Port of libzmq tests/test_hwm.cpp: how many messages a sender can queue
 * before it blocks, given its sendHighWaterMark and the receiver's
 * receiveHighWaterMark. Over inproc the two queues are joined directly, so
 * the count is exactly sndhwm + rcvhwm, as in libzmq, and 0 on either side
 * makes the whole path unbounded. Over tcp and ipc the kernel buffers sit in
 * between, so those runs check the send queue alone and the unbounded case.
 */
import { Dealer, Pair, Pull, Push, type SocketBase } from "../../src";
import { bindAddress, closeAll, link, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import { receiveN, sendUntilRefused } from "./support";

const MAX_SENDS = 10000;

describe("test_hwm: PUSH/PULL over inproc", () => {
  let push: Push | undefined;
  let pull: Pull | undefined;
  afterEach(() => closeAll(push, pull));

  /**
   * libzmq's count_msg(): sets the marks, connects in the given order, sends
   * until refused, then reads everything back and checks one more message
   * fits. Returns how many were accepted before the first refusal.
   */
  async function countMessages(sendHwm: number, receiveHwm: number, order: "bind-first" | "connect-first"): Promise<number> {
    push = new Push({ sendHighWaterMark: sendHwm });
    pull = new Pull({ receiveHighWaterMark: receiveHwm });
    const address = bindAddress("inproc");
    if (order === "bind-first") {
      await pull.bind(address);
      push.connect(address);
    } else {
      push.connect(address);
      await pull.bind(address);
    }
    const sent = await sendUntilRefused(push, (i) => `${i}`, MAX_SENDS);

    pull.receiveTimeout = 0;
    const received = await receiveN(pull, sent);
    expect(received.map(([body]) => Number(body))).toEqual(Array.from({ length: sent }, (_, i) => i));
    // Nothing beyond what was accepted was queued.
    await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" });

    // Reading made room: one more message fits and arrives.
    await push.send("one more");
    expect((await pull.receive())[0]!.toString()).toBe("one more");
    return sent;
  }

  it("queues 2000 messages with the default marks (1000 + 1000)", async () => {
    expect(await countMessages(1000, 1000, "bind-first")).toBe(2000);
  });

  it.each(["bind-first", "connect-first"] as const)("never blocks with both marks 0 (%s)", async (order) => {
    expect(await countMessages(0, 0, order)).toBe(MAX_SENDS);
  });

  it.each(["bind-first", "connect-first"] as const)("never blocks with receiveHighWaterMark 0, whatever the send mark (%s)", async (order) => {
    expect(await countMessages(1, 0, order)).toBe(MAX_SENDS);
  });

  it.each(["bind-first", "connect-first"] as const)("never blocks with sendHighWaterMark 0, whatever the receive mark (%s)", async (order) => {
    expect(await countMessages(0, 1, order)).toBe(MAX_SENDS);
  });

  it.each(["bind-first", "connect-first"] as const)("queues exactly sndhwm + rcvhwm = 2 with both marks 1 (%s)", async (order) => {
    expect(await countMessages(1, 1, order)).toBe(2);
  });

  it("queues only the send mark when the sender connects and closes before anyone binds", async () => {
    push = new Push({ sendHighWaterMark: 1 });
    const address = bindAddress("inproc");
    push.connect(address);
    const sent = await sendUntilRefused(push, (i) => `${i}`, MAX_SENDS);
    expect(sent).toBe(1);
    // The default linger (-1) keeps the closed socket around until its queue is delivered.
    push.close();

    pull = new Pull({ receiveHighWaterMark: 0, receiveTimeout: 0 });
    await pull.bind(address);
    expect((await pull.receive())[0]!.toString()).toBe("0");
    await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });
});

describe("test_hwm: the combined mark of other socket types over inproc", () => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));

  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }

  it("DEALER to DEALER: sndhwm 3 + rcvhwm 4 = 7 messages, then EAGAIN", async () => {
    const receiver = track(new Dealer({ receiveHighWaterMark: 4 }));
    const sender = track(new Dealer({ sendHighWaterMark: 3 }));
    await link(receiver, [sender], "inproc");
    expect(await sendUntilRefused(sender, (i) => `${i}`)).toBe(7);
    receiver.receiveTimeout = 0;
    expect((await receiveN(receiver, 7)).map(([m]) => m)).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
    await expect(receiver.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("DEALER with two peers: the marks apply per peer, so it queues 2 x (1 + 1) = 4", async () => {
    const sender = track(new Dealer({ sendHighWaterMark: 1 }));
    const a = track(new Dealer({ receiveHighWaterMark: 1, receiveTimeout: 0 }));
    const b = track(new Dealer({ receiveHighWaterMark: 1, receiveTimeout: 0 }));
    await sender.bind(bindAddress("inproc"));
    const handshakes = [nextEvent(a, "handshake"), nextEvent(b, "handshake")];
    a.connect(sender.lastEndpoint!);
    b.connect(sender.lastEndpoint!);
    await Promise.all(handshakes);
    expect(await sendUntilRefused(sender, (i) => `${i}`)).toBe(4);
    // Round-robin: each peer got every other message.
    const fromA = (await receiveN(a, 2)).map(([m]) => m);
    const fromB = (await receiveN(b, 2)).map(([m]) => m);
    expect([...fromA, ...fromB].sort()).toEqual(["0", "1", "2", "3"]);
    expect(new Set(fromA.map((m) => Number(m) % 2)).size).toBe(1);
    await expect(a.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(b.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("PAIR to PAIR, each direction on its own: sndhwm 2 + rcvhwm 5 = 7", async () => {
    const left = track(new Pair({ sendHighWaterMark: 2, receiveHighWaterMark: 5 }));
    const right = track(new Pair({ sendHighWaterMark: 2, receiveHighWaterMark: 5 }));
    await link(left, [right], "inproc");
    expect(await sendUntilRefused(left, (i) => `L${i}`)).toBe(7);
    // The other direction is not affected by the full one.
    expect(await sendUntilRefused(right, (i) => `R${i}`)).toBe(7);
    left.receiveTimeout = 0;
    right.receiveTimeout = 0;
    expect((await receiveN(right, 7)).map(([m]) => m)).toEqual(["L0", "L1", "L2", "L3", "L4", "L5", "L6"]);
    expect((await receiveN(left, 7)).map(([m]) => m)).toEqual(["R0", "R1", "R2", "R3", "R4", "R5", "R6"]);
  });

  it("counts messages, not frames: a 3-frame message takes one slot and blocks whole", async () => {
    const receiver = track(new Pull({ receiveHighWaterMark: 1, receiveTimeout: 0 }));
    const sender = track(new Push({ sendHighWaterMark: 1 }));
    await link(receiver, [sender], "inproc");
    expect(await sendUntilRefused(sender, (i) => [`${i}`, "middle", "last"])).toBe(2);
    expect(await receiveN(receiver, 2)).toEqual([
      ["0", "middle", "last"],
      ["1", "middle", "last"],
    ]);
    await expect(receiver.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });
});

describe.each(TRANSPORTS)("test_hwm: the send queue over %s", (transport) => {
  let push: Push | undefined;
  let pull: Pull | undefined;
  afterEach(() => closeAll(push, pull));

  it("accepts exactly sendHighWaterMark messages before any can leave, and refuses the rest", async () => {
    push = new Push({ sendHighWaterMark: 5 });
    pull = new Pull();
    await link(pull, [push], transport);
    push.sendTimeout = 0;
    // Issued in one synchronous run, as libzmq's DONTWAIT loop: no transport
    // gets a turn to move anything out of the queue in between.
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => push!.send(`${i}`)));
    expect(outcomes.map((o) => o.status)).toEqual([...Array(5).fill("fulfilled"), ...Array(3).fill("rejected")]);
    expect((await receiveN(pull, 5)).map(([m]) => m)).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("with sendHighWaterMark 0 never refuses, and delivers everything in order", async () => {
    push = new Push({ sendHighWaterMark: 0 });
    pull = new Pull({ receiveHighWaterMark: 0 });
    await link(pull, [push], transport);
    push.sendTimeout = 0;
    const outcomes = await Promise.allSettled(Array.from({ length: MAX_SENDS }, (_, i) => push!.send(`${i}`)));
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
    const received = await receiveN(pull, MAX_SENDS);
    expect(received.every(([m], i) => m === `${i}`)).toBe(true);
  });
});
