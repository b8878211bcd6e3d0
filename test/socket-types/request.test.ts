import { Dealer, PrivateerError, Reply, Request, Router, type Message } from "../../src";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";

/**
 * REQ semantics (RFC 28; libzmq's test_spec_req, test_req_correlate,
 * test_req_relaxed and test_invalid_rep), over every transport.
 */

/**
 * Waits for the next message on whichever socket gets one. Receives that
 * lose the race stay pending and are reused, so no message is swallowed.
 */
class FirstOf {
  private readonly pending: Array<Promise<{ index: number; message: Message }>>;
  constructor(private readonly sockets: Array<{ receive(): Promise<Message> }>) {
    this.pending = sockets.map((_, index) => this.receive(index));
  }
  async next(): Promise<{ index: number; message: Message }> {
    const winner = await Promise.race(this.pending);
    this.pending[winner.index] = this.receive(winner.index);
    return winner;
  }
  private receive(index: number): Promise<{ index: number; message: Message }> {
    const next = this.sockets[index]!.receive().then((message) => ({ index, message }));
    // Receives still waiting when the test ends are rejected by close; that is expected.
    next.catch(() => undefined);
    return next;
  }
}

/** Replies to every request with `[name, ...request]` until the socket closes. */
function serveEcho(rep: Reply, name: string): void {
  void (async () => {
    for await (const request of rep) await rep.send([name, ...request]);
  })().catch(() => undefined);
}

describe.each(TRANSPORTS)("REQ over %s", (transport) => {
  const sockets: Array<Request | Reply | Router | Dealer> = [];
  const track = <T extends Request | Reply | Router | Dealer>(socket: T): T => {
    sockets.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...sockets.splice(0)));

  it("round-robins requests over every REP in a fixed cycle", async () => {
    const req = track(new Request());
    const reps = [0, 1, 2].map((i) => {
      const rep = track(new Reply());
      serveEcho(rep, `rep${i}`);
      return rep;
    });
    await link(req, reps, transport);

    const served: string[] = [];
    for (let i = 0; i < 9; i++) {
      await req.send(`q${i}`);
      const [name, body] = text(await req.receive());
      expect(body).toBe(`q${i}`);
      served.push(name!);
    }
    // Every REP once per round, in the same order each round.
    const firstRound = served.slice(0, 3);
    expect(new Set(firstRound).size).toBe(3);
    expect(served).toEqual([...firstRound, ...firstRound, ...firstRound]);
  });

  it("puts an empty delimiter before the request and strips it from the reply (ROUTER peer)", async () => {
    const router = track(new Router());
    const req = track(new Request());
    await link(router, [req], transport);

    await req.send(["ABC", "DEF"]);
    const [id, ...rest] = await router.receive();
    expect(id!.length).toBeGreaterThan(0);
    expect(text(rest)).toEqual(["", "ABC", "DEF"]);

    await router.send([id!, "", "GHI"]);
    expect(text(await req.receive())).toEqual(["GHI"]);
  });

  it("carries multipart requests and replies whole", async () => {
    const rep = track(new Reply());
    const req = track(new Request());
    await link(rep, [req], transport);

    const long = Buffer.alloc(300, 0x5a);
    await req.send(["a", Buffer.alloc(0), long, "d"]);
    const request = await rep.receive();
    expect(request).toHaveLength(4);
    expect(text(request.slice(0, 2))).toEqual(["a", ""]);
    expect(request[2]!.equals(long)).toBe(true);
    expect(request[3]!.toString()).toBe("d");

    await rep.send(["x", "", "z"]);
    expect(text(await req.receive())).toEqual(["x", "", "z"]);
  });

  it("enforces lockstep: a second send before the reply fails with EFSM", async () => {
    const rep = track(new Reply());
    const req = track(new Request());
    await link(rep, [req], transport);

    await req.send("first");
    await expect(req.send("second")).rejects.toMatchObject({ code: "EFSM" });
    expect(text(await rep.receive())).toEqual(["first"]);
    await rep.send("reply");
    expect(text(await req.receive())).toEqual(["reply"]);
    // The cycle is complete, so sending is allowed again.
    await req.send("third");
    expect(text(await rep.receive())).toEqual(["third"]);
  });

  it("lets receive() wait before send() and resolves it with the reply", async () => {
    const rep = track(new Reply());
    const req = track(new Request());
    serveEcho(rep, "rep");
    await link(rep, [req], transport);

    const reply = req.receive();
    await req.send("early");
    expect(text(await reply)).toEqual(["rep", "early"]);
  });

  it("fails a send with no peer at once when sendTimeout is 0", async () => {
    const req = track(new Request({ sendTimeout: 0 }));
    await req.bind(bindAddress(transport));
    const failure = await req.send("nobody").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PrivateerError);
    expect((failure as PrivateerError).code).toBe("EAGAIN");
  });

  it("accepts the reply only from the peer it asked", async () => {
    // libzmq's test_req_only_listens_to_current_peer: every ROUTER answers, only one was asked.
    const req = track(new Request({ routingId: "A" }));
    const routers = [0, 1, 2].map(() => track(new Router({ mandatory: true })));
    await link(req, routers, transport);

    const arrivals = new FirstOf(routers);
    await req.send("ABC");
    const { index: asked, message } = await arrivals.next();
    expect(text(message)).toEqual(["A", "", "ABC"]);

    for (let j = 0; j < routers.length; j++) if (j !== asked) await routers[j]!.send(["A", "", `WRONG-${j}`]);
    await routers[asked]!.send(["A", "", "GOOD"]);
    expect(text(await req.receive())).toEqual(["GOOD"]);
  });

  it("drops a reply without a delimiter and accepts the next good one", async () => {
    // libzmq's test_invalid_rep.
    const router = track(new Router());
    const req = track(new Request());
    await link(router, [req], transport);

    await req.send("r");
    const [id] = await router.receive();
    await router.send([id!, "malformed"]);
    await router.send([id!, Buffer.alloc(0)]);
    await router.send([id!, "", "good"]);
    expect(text(await req.receive())).toEqual(["good"]);
  });

  it("with correlate, prefixes a request id and discards replies carrying another id", async () => {
    const router = track(new Router());
    const req = track(new Request({ correlate: true }));
    await link(router, [req], transport);

    await req.send(["ABC", "DEF"]);
    const [peer, requestId, ...rest] = await router.receive();
    expect(requestId).toHaveLength(4);
    expect(text(rest)).toEqual(["", "ABC", "DEF"]);

    const forged = Buffer.alloc(4);
    forged.writeUInt32BE((requestId!.readUInt32BE(0) + 1) >>> 0);
    await router.send([peer!, forged, "", "DATA"]);
    await router.send([peer!, "", "NO-ID"]);
    await router.send([peer!, requestId!, "", "GHI"]);
    expect(text(await req.receive())).toEqual(["GHI"]);

    // Each request gets a fresh id.
    await req.send("next");
    const [, nextId] = await router.receive();
    expect(nextId!.equals(requestId!)).toBe(false);
  });

  it("with relaxed, allows a new request and discards the reply to the old one", async () => {
    // libzmq's test_req_relaxed, case 1: the old request went to another peer.
    const req = track(new Request({ relaxed: true }));
    const reps = [0, 1].map(() => track(new Reply()));
    await link(req, reps, transport);
    const arrivals = new FirstOf(reps);

    await req.send(["A", "B"]);
    const first = await arrivals.next();
    expect(text(first.message)).toEqual(["A", "B"]);

    await req.send(["C", "D"]);
    const second = await arrivals.next();
    expect(second.index).not.toBe(first.index);
    expect(text(second.message)).toEqual(["C", "D"]);

    await reps[first.index]!.send("WRONG");
    await reps[second.index]!.send("OK");
    expect(text(await req.receive())).toEqual(["OK"]);

    // An ordinary cycle still works afterwards.
    await req.send("E");
    const third = await arrivals.next();
    expect(text(third.message)).toEqual(["E"]);
    await reps[third.index]!.send(["F", "G"]);
    expect(text(await req.receive())).toEqual(["F", "G"]);
  });

  it("with relaxed and correlate, answers only the last of requests queued before the peer bound", async () => {
    // libzmq's test_req_relaxed, case 4: both requests reach the same peer, which answers both.
    const address = await freeAddress(transport);
    const req = track(new Request({ relaxed: true, correlate: true, reconnectInterval: 20 }));
    req.connect(address);
    await req.send("TO_BE_DISCARDED");
    await req.send("TO_BE_ANSWERED");

    const router = track(new Router());
    await router.bind(address);
    for (let i = 0; i < 2; i++) await router.send(await router.receive());
    expect(text(await req.receive())).toEqual(["TO_BE_ANSWERED"]);
  });

  it("serves queued sends in call order and rejects the rest with EFSM once one is outstanding", async () => {
    const rep = track(new Reply());
    const req = track(new Request());
    await req.bind(bindAddress(transport));
    // No peer yet: the first send waits for one, the second queues behind it.
    const first = req.send("first");
    const second = req.send("second");
    const handshake = nextEvent(req, "handshake");
    rep.connect(req.lastEndpoint!);
    await handshake;
    await first;
    await expect(second).rejects.toMatchObject({ code: "EFSM" });
    expect(text(await rep.receive())).toEqual(["first"]);
  });

  it("rejects a pending receive() with EAGAIN on close and later calls with EBADF", async () => {
    const rep = track(new Reply());
    const req = track(new Request());
    await link(rep, [req], transport);
    await req.send("q");
    const pending = req.receive();
    closeAll(req);
    await expect(pending).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(req.send("late")).rejects.toMatchObject({ code: "EBADF" });
    await expect(req.receive()).rejects.toMatchObject({ code: "EBADF" });
  });
});
