import { VirtualTimeScheduler } from "rxjs";
import { Pull, Push } from "../../src";
import { advanceTo, nextTurn } from "../helpers/clock";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";
import { isPending, rejection } from "../socket/support";

/** PUSH's side of RFC 30 (libzmq test_spec_pushpull). */
describe.each(TRANSPORTS)("PUSH over %s", (transport) => {
  let push: Push;
  let pulls: Pull[];

  beforeEach(() => {
    push = new Push();
    pulls = [];
  });
  afterEach(() => closeAll(push, ...pulls));

  function pull(options: ConstructorParameters<typeof Pull>[0] = {}): Pull {
    const socket = new Pull(options);
    pulls.push(socket);
    return socket;
  }

  it("routes messages round-robin, one per connected PULL in turn", async () => {
    const peers = Array.from({ length: 5 }, () => pull());
    await link(push, peers, transport);

    for (let i = 0; i < 15; i++) await push.send(String(i));

    const residues = new Set<number>();
    for (const peer of peers) {
      const got = [];
      for (let k = 0; k < 3; k++) got.push(Number(text(await peer.receive())[0]));
      // Each peer gets every fifth message, in order: i, i+5, i+10.
      expect(got[1]! - got[0]!).toBe(5);
      expect(got[2]! - got[1]!).toBe(5);
      residues.add(got[0]! % 5);
    }
    // ... and together they got all fifteen, none twice.
    expect(residues).toEqual(new Set([0, 1, 2, 3, 4]));
  });

  it("keeps 1000 messages in order to one peer", async () => {
    const peer = pull();
    await link(push, [peer], transport);
    const sends = [];
    for (let i = 0; i < 1000; i++) sends.push(push.send(["seq", String(i)]));
    await Promise.all(sends);
    for (let i = 0; i < 1000; i++) expect(text(await peer.receive())).toEqual(["seq", String(i)]);
  });

  it("delivers messages sent before the PULL bound", async () => {
    const address = await freeAddress(transport);
    push.reconnectInterval = 10;
    push.connect(address);
    // connect() made the queue already: these are accepted, not waiting.
    await push.send("early 1");
    await push.send(["early", "2"]);
    const peer = pull();
    await peer.bind(address);
    expect(text(await peer.receive())).toEqual(["early 1"]);
    expect(text(await peer.receive())).toEqual(["early", "2"]);
  });

  it("waits to send while it has no peer, and sends once one arrives", async () => {
    await push.bind(bindAddress(transport));
    const first = push.send("waited");
    const second = push.send("waited too");
    expect(await isPending(first)).toBe(true);
    expect(await isPending(second)).toBe(true);

    const peer = pull();
    const handshake = nextEvent(push, "handshake");
    peer.connect(push.lastEndpoint!);
    await handshake;
    await first;
    await second;
    expect(text(await peer.receive())).toEqual(["waited"]);
    expect(text(await peer.receive())).toEqual(["waited too"]);
  });

  it("discards the queue of a peer that disconnects; a new connection starts empty", async () => {
    const peer = pull({ receiveHighWaterMark: 1 });
    const address = await link(push, [peer], transport);
    for (let i = 0; i < 3; i++) await push.send(`old ${i}`);

    const gone = nextEvent(push, "disconnect");
    peer.disconnect(address);
    await gone;

    const back = nextEvent(push, "handshake");
    peer.connect(address);
    await back;
    await push.send("new");
    expect(text(await peer.receive())).toEqual(["new"]);
  });
});

/** The timeouts of a PUSH with no peer, in virtual time (libzmq test_spec_pushpull, block_on_send_no_peers). */
describe("PUSH with no peers", () => {
  let push: Push | undefined;
  afterEach(() => closeAll(push));

  it("rejects with EAGAIN after sendTimeout, not before", async () => {
    const scheduler = new VirtualTimeScheduler();
    push = new Push({ scheduler, sendTimeout: 50 });
    await push.bind("inproc://push-no-peers-timeout");
    let outcome: string | undefined;
    const sending = push.send("nobody").then(
      () => (outcome = "sent"),
      (error: { code: string }) => (outcome = error.code),
    );
    advanceTo(scheduler, 49);
    await nextTurn();
    expect(outcome).toBeUndefined();
    advanceTo(scheduler, 50);
    await sending;
    expect(outcome).toBe("EAGAIN");
  });

  it("rejects at once with sendTimeout 0, before any timer could run", async () => {
    const scheduler = new VirtualTimeScheduler();
    push = new Push({ scheduler, sendTimeout: 0 });
    await push.bind("inproc://push-no-peers-zero");
    const sending = push.send("nobody");
    // No timer was involved: nothing is scheduled, and the promise is already rejected.
    expect(scheduler.actions).toHaveLength(0);
    expect((await rejection(sending)).code).toBe("EAGAIN");
  });

  it("serves waiting sends in call order once a peer arrives, and a timed-out one is not sent", async () => {
    const scheduler = new VirtualTimeScheduler();
    push = new Push({ scheduler, sendTimeout: 100 });
    const peer = new Pull();
    try {
      await push.bind("inproc://push-no-peers-order");
      const timedOut = push.send("expired");
      advanceTo(scheduler, 100);
      expect((await rejection(timedOut)).code).toBe("EAGAIN");
      push.sendTimeout = -1;
      const waiting = [push.send("a"), push.send("b"), push.send("c")];
      peer.connect("inproc://push-no-peers-order");
      await Promise.all(waiting);
      const got = [text(await peer.receive())[0], text(await peer.receive())[0], text(await peer.receive())[0]];
      expect(got).toEqual(["a", "b", "c"]);
    } finally {
      closeAll(peer);
    }
  });
});
