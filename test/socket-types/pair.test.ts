import { randomBytes } from "node:crypto";
import { Pair } from "../../src";
import { closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";
import { expectSameFrames } from "../helpers/sockets";

/**
 * PAIR semantics (RFC 31, EXPAIR), over every transport.
 */

describe.each(TRANSPORTS)("PAIR over %s", (transport) => {
  const sockets: Pair[] = [];
  const track = (socket: Pair): Pair => {
    sockets.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...sockets.splice(0)));

  it("carries messages both ways, unchanged and in order", async () => {
    const bound = track(new Pair());
    const connected = track(new Pair());
    await link(bound, [connected], transport);

    for (let i = 0; i < 10; i++) await connected.send(["up", String(i)]);
    for (let i = 0; i < 10; i++) await bound.send(["down", String(i)]);
    for (let i = 0; i < 10; i++) expect(text(await bound.receive())).toEqual(["up", String(i)]);
    for (let i = 0; i < 10; i++) expect(text(await connected.receive())).toEqual(["down", String(i)]);
  });

  it("delivers a five-frame message with an empty and a long frame whole", async () => {
    const bound = track(new Pair());
    const connected = track(new Pair());
    await link(bound, [connected], transport);

    const message = [Buffer.from("one"), Buffer.alloc(0), randomBytes(300), Buffer.from("four"), Buffer.alloc(0)];
    await connected.send(message);
    expectSameFrames(await bound.receive(), message);
    await bound.send(message);
    expectSameFrames(await connected.receive(), message);
  });

  it("delivers a message larger than 64 KiB intact", async () => {
    const bound = track(new Pair());
    const connected = track(new Pair());
    await link(bound, [connected], transport);

    const message = [randomBytes(256 * 1024 + 17), Buffer.from("trailer")];
    await connected.send(message);
    await connected.send("after");
    expectSameFrames(await bound.receive(), message);
    expect(text(await bound.receive())).toEqual(["after"]);
  });

  it("refuses a second peer while the first lives, and keeps the first", async () => {
    const bound = track(new Pair());
    const first = track(new Pair());
    await link(bound, [first], transport);

    const second = track(new Pair({ reconnectInterval: -1 }));
    const refused = nextEvent(bound, "handshake:error");
    second.connect(bound.lastEndpoint!);
    expect((await refused).error.reason).toBe("exclusive-peer");

    await bound.send("still you");
    expect(text(await first.receive())).toEqual(["still you"]);
    await first.send("yes");
    expect(text(await bound.receive())).toEqual(["yes"]);
  });

  it("accepts a new peer once the first has gone", async () => {
    const bound = track(new Pair());
    const first = track(new Pair());
    await link(bound, [first], transport);

    // inproc tears the pipe down inside close(); stream transports report it.
    const gone = transport === "inproc" ? Promise.resolve() : nextEvent(bound, "disconnect");
    closeAll(first);
    await gone;

    const next = track(new Pair());
    const handshake = nextEvent(bound, "handshake");
    next.connect(bound.lastEndpoint!);
    await handshake;
    await next.send("hello again");
    expect(text(await bound.receive())).toEqual(["hello again"]);
    await bound.send("welcome");
    expect(text(await next.receive())).toEqual(["welcome"]);
  });

  it("queues messages sent before the peer binds", async () => {
    const address = await freeAddress(transport);
    const connected = track(new Pair({ reconnectInterval: 20 }));
    connected.connect(address);
    await connected.send("queued-1");
    await connected.send("queued-2");

    const bound = track(new Pair());
    await bound.bind(address);
    expect(text(await bound.receive())).toEqual(["queued-1"]);
    expect(text(await bound.receive())).toEqual(["queued-2"]);
  });

  it("resolves 100 concurrent send() and receive() calls in call order", async () => {
    const bound = track(new Pair());
    const connected = track(new Pair());
    await link(bound, [connected], transport);

    const settled: number[] = [];
    const receives = Array.from({ length: 100 }, (_, i) => bound.receive().then((message) => (settled.push(i), text(message))));
    await Promise.all(Array.from({ length: 100 }, (_, i) => connected.send(String(i))));
    expect(await Promise.all(receives)).toEqual(Array.from({ length: 100 }, (_, i) => [String(i)]));
    expect(settled).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("ends its async iterator and completes messages$ on close", async () => {
    const bound = track(new Pair());
    const connected = track(new Pair());
    await link(bound, [connected], transport);

    const streamed: string[] = [];
    let streamedTwo!: () => void;
    const twoStreamed = new Promise<void>((resolve) => (streamedTwo = resolve));
    const streamCompleted = new Promise<void>((resolve, reject) =>
      bound.messages$.subscribe({
        next: (message) => {
          streamed.push(text(message)[0]!);
          if (streamed.length === 2) streamedTwo();
        },
        error: reject,
        complete: resolve,
      }),
    );

    const iterated: string[] = [];
    let iteratedOne!: () => void;
    const oneIterated = new Promise<void>((resolve) => (iteratedOne = resolve));
    const loop = (async () => {
      for await (const message of connected) {
        iterated.push(text(message)[0]!);
        iteratedOne();
      }
    })();

    await connected.send("one");
    await connected.send("two");
    await bound.send("three");
    await Promise.all([twoStreamed, oneIterated]);
    // Both consumers are now waiting for more; closing must end them, not leave them hanging.
    closeAll(bound, connected);
    await Promise.all([streamCompleted, loop]);
    expect(streamed).toEqual(["one", "two"]);
    expect(iterated).toEqual(["three"]);
  });
});
