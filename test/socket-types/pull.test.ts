import { Pull, Push } from "../../src";
import { bindAddress, closeAll, events, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";
import { rejection } from "../socket/support";

/** PULL's side of RFC 30 (libzmq test_spec_pushpull) and its flow control. */
describe.each(TRANSPORTS)("PULL over %s", (transport) => {
  let pull: Pull;
  let pushes: Push[];

  beforeEach(() => {
    pull = new Pull();
    pushes = [];
  });
  afterEach(() => closeAll(pull, ...pushes));

  function push(options: ConstructorParameters<typeof Push>[0] = {}): Push {
    const socket = new Push(options);
    pushes.push(socket);
    return socket;
  }

  it("fair-queues: one message from each PUSH before a second from any", async () => {
    const peers = Array.from({ length: 5 }, () => push());
    await link(pull, peers, transport);
    for (const [k, peer] of peers.entries()) {
      await peer.send(`${k}:first`);
      await peer.send(`${k}:second`);
    }
    // Every message must be queued at the PULL before reading starts, or
    // arrival order would decide. Closing a PUSH (linger -1) flushes it, and
    // the PULL reports the disconnect only after the last byte.
    const ended = events(pull, "disconnect", peers.length);
    for (const peer of peers) peer.close();
    await ended;

    const received: string[] = [];
    for (let i = 0; i < 10; i++) received.push(text(await pull.receive())[0]!);
    const firstRound = received.slice(0, 5);
    const secondRound = received.slice(5);
    expect(firstRound.every((m) => m.endsWith(":first"))).toBe(true);
    expect(new Set(firstRound.map((m) => m.split(":")[0])).size).toBe(5);
    expect(secondRound.every((m) => m.endsWith(":second"))).toBe(true);
    expect(new Set(secondRound.map((m) => m.split(":")[0])).size).toBe(5);
  });

  it("receives from a PUSH it connected to as well as from one that connected to it", async () => {
    const connecting = push();
    const bound = push();
    await link(pull, [connecting], transport);
    await bound.bind(bindAddress(transport));
    const handshake = nextEvent(pull, "handshake");
    pull.connect(bound.lastEndpoint!);
    await handshake;
    await connecting.send("from connecting");
    await bound.send("from bound");
    const got = [text(await pull.receive())[0], text(await pull.receive())[0]];
    expect(got.sort()).toEqual(["from bound", "from connecting"]);
  });

  it("pauses a peer at receiveHighWaterMark until read, then delivers everything in order", async () => {
    const total = 10000;
    const payload = Buffer.alloc(8 * 1024, 0x5a);
    pull.receiveHighWaterMark = 10;
    const sender = push({ sendHighWaterMark: 100, sendTimeout: 200 });
    await link(pull, [sender], transport);

    // Nobody reads: once the PULL's queue, the OS buffers and the PUSH's
    // queue are full, send() has to wait, and gives up after sendTimeout.
    let next = 0;
    let failure: { code?: string } | undefined;
    while (next < total) {
      try {
        await sender.send([String(next), payload]);
        next++;
      } catch (error) {
        failure = error as { code?: string };
        break;
      }
    }
    expect(failure?.code).toBe("EAGAIN");
    expect(next).toBeLessThan(total);

    // Reading resumes the flow; the rest is sent while we read.
    sender.sendTimeout = -1;
    const sending = (async () => {
      for (; next < total; next++) await sender.send([String(next), payload]);
    })();
    let outOfOrder = 0;
    for (let i = 0; i < total; i++) {
      const message = await pull.receive();
      if (message[0]!.toString() !== String(i) || message[1]!.length !== payload.length) outOfOrder++;
    }
    await sending;
    expect(outOfOrder).toBe(0);
  });
});

/**
 * Multipart atomicity (RFC 30: "SHALL either receive or drop multipart
 * messages atomically"): a peer that dies in the middle of a message delivers
 * nothing of it, and the other peers are unaffected. A hand-written ZMTP peer
 * plays the dying PUSH, so tcp and ipc only.
 */
describe.each(["tcp", "ipc"] as const)("PULL and a peer that dies mid-message, over %s", (transport) => {
  let pull: Pull;
  let good: Push;
  let raw: RawPeer | undefined;

  beforeEach(() => {
    pull = new Pull();
    good = new Push();
  });
  afterEach(() => {
    raw?.destroy();
    closeAll(pull, good);
  });

  it("delivers none of the unfinished message while other peers keep working", async () => {
    await link(pull, [good], transport);
    const handshake = nextEvent(pull, "handshake");
    raw = await RawPeer.connectAs(pull.lastEndpoint!, { "Socket-Type": "PUSH" });
    expect((await handshake).peer.socketType).toBe("PUSH");

    raw.write(
      Buffer.concat([
        zmtp.frame(0x01, "whole-1"),
        zmtp.frame(0x00, "whole-2"),
        zmtp.frame(0x01, "partial-1"),
        zmtp.frame(0x01, "partial-2"),
      ]),
    );
    expect(text(await pull.receive())).toEqual(["whole-1", "whole-2"]);

    const gone = nextEvent(pull, "disconnect");
    raw.destroy();
    await gone;

    await good.send(["good", "message"]);
    expect(text(await pull.receive())).toEqual(["good", "message"]);
    // Nothing else was queued: the half message vanished with its peer.
    pull.receiveTimeout = 0;
    expect((await rejection(pull.receive())).code).toBe("EAGAIN");
  });
});
