import { randomBytes } from "node:crypto";
import { Dealer, PrivateerError, Reply, Router, type SocketBase } from "../../src";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";
import { expectSameFrames, untilQueued } from "../helpers/sockets";

/**
 * DEALER semantics (RFC 28; libzmq's test_spec_dealer), plus the
 * multipart, concurrency and reconnection guarantees every socket shares,
 * over every transport.
 */

describe.each(TRANSPORTS)("DEALER over %s", (transport) => {
  const sockets: SocketBase[] = [];
  const track = <T extends SocketBase>(socket: T): T => {
    sockets.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...sockets.splice(0)));

  it("round-robins outgoing messages over its peers", async () => {
    const dealer = track(new Dealer());
    const routers = [0, 1, 2].map(() => track(new Router()));
    // Bound DEALER, peers connecting: each peer's pipe joins as its handshake completes.
    await link(dealer, routers, transport);

    for (let i = 0; i < 9; i++) await dealer.send(`m${i}`);
    const received = await Promise.all(
      routers.map(async (router) => {
        const bodies: number[] = [];
        for (let k = 0; k < 3; k++) bodies.push(Number(text((await router.receive()).slice(1))[0]!.slice(1)));
        return bodies;
      }),
    );
    // Peer p gets messages s, s+3, s+6 for a distinct start s.
    const starts = received.map((bodies) => bodies[0]!);
    expect(new Set(starts).size).toBe(3);
    for (const bodies of received) expect(bodies).toEqual([bodies[0]!, bodies[0]! + 3, bodies[0]! + 6]);
  });

  it("round-robins over peers it connected to, in connect order", async () => {
    const dealer = track(new Dealer());
    const routers = [0, 1, 2].map(() => track(new Router()));
    for (const router of routers) {
      await router.bind(bindAddress(transport));
      const handshake = nextEvent(router, "handshake");
      dealer.connect(router.lastEndpoint!);
      await handshake;
    }
    for (let i = 0; i < 6; i++) await dealer.send(`m${i}`);
    for (const [p, router] of routers.entries()) {
      expect(text((await router.receive()).slice(1))).toEqual([`m${p}`]);
      expect(text((await router.receive()).slice(1))).toEqual([`m${p + 3}`]);
    }
  });

  it("fair-queues incoming messages from its peers", async () => {
    const dealer = track(new Dealer());
    const peers = [0, 1, 2].map(() => track(new Dealer()));
    await link(dealer, peers, transport);

    for (const [p, peer] of peers.entries()) for (let k = 0; k < 4; k++) await peer.send(`p${p}-${k}`);
    await untilQueued(dealer, 3);

    const order: string[] = [];
    for (let n = 0; n < 12; n++) order.push(text(await dealer.receive())[0]!);
    // Every round takes one message from each peer; each peer's messages keep their order.
    for (let round = 0; round < 4; round++) {
      const slice = order.slice(round * 3, round * 3 + 3);
      expect(slice.map((body) => body.split("-")[1]).every((k) => k === String(round))).toBe(true);
      expect(new Set(slice.map((body) => body.split("-")[0])).size).toBe(3);
    }
  });

  it("queues messages sent before the peer binds and delivers them once it does", async () => {
    const address = await freeAddress(transport);
    const dealer = track(new Dealer({ reconnectInterval: 20 }));
    dealer.connect(address);
    for (let i = 0; i < 5; i++) await dealer.send(["early", String(i)]);

    const router = track(new Router());
    await router.bind(address);
    for (let i = 0; i < 5; i++) expect(text((await router.receive()).slice(1))).toEqual(["early", String(i)]);
  });

  it("announces its routingId, which a ROUTER uses to address it", async () => {
    const router = track(new Router());
    const dealer = track(new Dealer({ routingId: "dealer-7" }));
    expect(dealer.routingId).toBe("dealer-7");
    const handshake = nextEvent(router, "handshake");
    await link(router, [dealer], transport);
    expect((await handshake).peer.routingId.toString()).toBe("dealer-7");

    await dealer.send("hello");
    expect(text(await router.receive())).toEqual(["dealer-7", "hello"]);
    await router.send(["dealer-7", "back"]);
    expect(text(await dealer.receive())).toEqual(["back"]);
  });

  it("talks to a REP when it supplies the delimiter itself", async () => {
    const rep = track(new Reply());
    const dealer = track(new Dealer());
    await link(rep, [dealer], transport);
    await dealer.send(["", "ping"]);
    expect(text(await rep.receive())).toEqual(["ping"]);
    await rep.send("pong");
    expect(text(await dealer.receive())).toEqual(["", "pong"]);
  });

  it("fails a send with no peer at once when sendTimeout is 0", async () => {
    const dealer = track(new Dealer({ sendTimeout: 0 }));
    await dealer.bind(bindAddress(transport));
    const failure = await dealer.send("nobody").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PrivateerError);
    expect((failure as PrivateerError).code).toBe("EAGAIN");
  });

  describe("multipart atomicity", () => {
    it("delivers a five-frame message with an empty and a long frame whole", async () => {
      const router = track(new Router());
      const dealer = track(new Dealer({ routingId: "d" }));
      await link(router, [dealer], transport);

      // 300 bytes needs the 8-byte LONG size on the wire.
      const message = [Buffer.from("first"), Buffer.alloc(0), randomBytes(300), Buffer.from([0]), Buffer.from("last")];
      await dealer.send(message);
      const [id, ...body] = await router.receive();
      expect(id!.toString()).toBe("d");
      expectSameFrames(body, message);

      await router.send(["d", ...message]);
      expectSameFrames(await dealer.receive(), message);
    });

    it("delivers a message larger than 64 KiB intact", async () => {
      const pair = [track(new Dealer()), track(new Dealer())] as const;
      await link(pair[0], [pair[1]], transport);
      const message = [Buffer.from("head"), randomBytes(300 * 1024), Buffer.alloc(0), randomBytes(70 * 1024)];
      await pair[1].send(message);
      expectSameFrames(await pair[0].receive(), message);
      await pair[0].send(message);
      expectSameFrames(await pair[1].receive(), message);
    });

    it("never interleaves the frames of messages from concurrent senders", async () => {
      const router = track(new Router());
      const dealers = ["a", "b", "c"].map((routingId) => track(new Dealer({ routingId })));
      await link(router, dealers, transport);

      const count = 50;
      await Promise.all(
        dealers.map((dealer, d) =>
          Promise.all(
            Array.from({ length: count }, (_, k) => dealer.send([`${d}`, `${k}`, "", randomBytes(k * 7), `${d}-${k}`])),
          ),
        ),
      );
      const next = new Map<string, number>();
      for (let n = 0; n < dealers.length * count; n++) {
        const [id, d, k, empty, blob, tail] = await router.receive();
        const sender = dealers[Number(d!.toString())]!;
        expect(id!.toString()).toBe(sender.routingId);
        expect(empty!.length).toBe(0);
        expect(blob!.length).toBe(Number(k!.toString()) * 7);
        expect(tail!.toString()).toBe(`${d}-${k}`);
        // Per sender, messages arrive in the order sent.
        expect(Number(k!.toString())).toBe(next.get(id!.toString()) ?? 0);
        next.set(id!.toString(), Number(k!.toString()) + 1);
      }
    });
  });

  describe("concurrency", () => {
    it("resolves 100 concurrent send() calls and delivers them in call order", async () => {
      const sender = track(new Dealer());
      const receiver = track(new Dealer());
      await link(sender, [receiver], transport);

      const sends = Array.from({ length: 100 }, (_, i) => sender.send(["n", String(i)]));
      await Promise.all(sends);
      for (let i = 0; i < 100; i++) expect(text(await receiver.receive())).toEqual(["n", String(i)]);
    });

    it("holds 100 send() calls made before any peer and releases them in call order", async () => {
      const sender = track(new Dealer());
      await sender.bind(bindAddress(transport));
      const settled: number[] = [];
      const sends = Array.from({ length: 100 }, (_, i) => sender.send(String(i)).then(() => settled.push(i)));

      const receiver = track(new Dealer());
      receiver.connect(sender.lastEndpoint!);
      await Promise.all(sends);
      expect(settled).toEqual(Array.from({ length: 100 }, (_, i) => i));
      for (let i = 0; i < 100; i++) expect(text(await receiver.receive())).toEqual([String(i)]);
    });

    it("resolves 100 concurrent receive() calls in call order", async () => {
      const sender = track(new Dealer());
      const receiver = track(new Dealer());
      await link(receiver, [sender], transport);

      const settled: number[] = [];
      const receives = Array.from({ length: 100 }, (_, i) =>
        receiver.receive().then((message) => {
          settled.push(i);
          return text(message);
        }),
      );
      for (let i = 0; i < 100; i++) await sender.send(String(i));
      const messages = await Promise.all(receives);
      expect(messages).toEqual(Array.from({ length: 100 }, (_, i) => [String(i)]));
      expect(settled).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });

    it("ends an async iterator that is waiting when the socket closes", async () => {
      const sender = track(new Dealer());
      const receiver = track(new Dealer());
      await link(receiver, [sender], transport);

      const seen: string[] = [];
      let sawThree!: () => void;
      const three = new Promise<void>((resolve) => (sawThree = resolve));
      const loop = (async () => {
        for await (const message of receiver) {
          seen.push(text(message)[0]!);
          if (seen.length === 3) sawThree();
        }
        return "ended";
      })();
      for (const body of ["a", "b", "c"]) await sender.send(body);
      await three;
      closeAll(receiver);
      await expect(loop).resolves.toBe("ended");
      expect(seen).toEqual(["a", "b", "c"]);
    });

    it("emits received messages on messages$ and completes it on close", async () => {
      const sender = track(new Dealer());
      const receiver = track(new Dealer());
      await link(receiver, [sender], transport);

      const seen: string[][] = [];
      let sawThree!: () => void;
      const three = new Promise<void>((resolve) => (sawThree = resolve));
      const completed = new Promise<void>((resolve, reject) =>
        receiver.messages$.subscribe({
          next: (message) => {
            seen.push(text(message));
            if (seen.length === 3) sawThree();
          },
          error: reject,
          complete: resolve,
        }),
      );
      await sender.send(["x", "1"]);
      await sender.send(["y", "2"]);
      await sender.send(["z", "3"]);
      await three;
      closeAll(receiver);
      await completed;
      expect(seen).toEqual([
        ["x", "1"],
        ["y", "2"],
        ["z", "3"],
      ]);
    });
  });
});

describe.each(["tcp", "ipc"] as const)("DEALER reconnection over %s", (transport) => {
  const sockets: SocketBase[] = [];
  const track = <T extends SocketBase>(socket: T): T => {
    sockets.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...sockets.splice(0)));

  it("reconnects to a new ROUTER bound on the same address and messages flow again", async () => {
    const first = track(new Router());
    const dealer = track(new Dealer({ routingId: "client", reconnectInterval: 20 }));
    const address = await link(first, [dealer], transport);
    await dealer.send("before");
    expect(text(await first.receive())).toEqual(["client", "before"]);

    // The DEALER's first handshake is behind us: the round trip above needed it.
    const rehandshake = nextEvent(dealer, "handshake");
    closeAll(first);
    const second = track(new Router());
    await second.bind(address);
    await rehandshake;

    await dealer.send("after");
    expect(text(await second.receive())).toEqual(["client", "after"]);
    await second.send(["client", "welcome back"]);
    expect(text(await dealer.receive())).toEqual(["welcome back"]);
  });
});
