import {
  Dealer,
  Pair,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  SocketBase,
  Subscriber,
  XPublisher,
  XSubscriber,
  type Readable,
  type Writable,
} from "../../src";
import { Readable as ReadableMixin, Writable as WritableMixin } from "../../src/socket/mixins";
import { PublisherBase } from "../../src/socket-types/publisher-base";
import { SubscriberBase } from "../../src/socket-types/subscriber-base";

/**
 * Which sockets send and which receive is part of the zeromq.js API: the
 * Readable/Writable mixins must give each socket type exactly its
 * capabilities, on top of the base it already had, and nothing more.
 */
const CASES = [
  { name: "PUB", make: () => new Publisher(), base: PublisherBase, sends: true, receives: false },
  { name: "XPUB", make: () => new XPublisher(), base: PublisherBase, sends: true, receives: true },
  { name: "SUB", make: () => new Subscriber(), base: SubscriberBase, sends: false, receives: true },
  { name: "XSUB", make: () => new XSubscriber(), base: SubscriberBase, sends: true, receives: true },
  { name: "PUSH", make: () => new Push(), base: SocketBase, sends: true, receives: false },
  { name: "PULL", make: () => new Pull(), base: SocketBase, sends: false, receives: true },
  { name: "PAIR", make: () => new Pair(), base: SocketBase, sends: true, receives: true },
  { name: "REQ", make: () => new Request(), base: SocketBase, sends: true, receives: true },
  { name: "REP", make: () => new Reply(), base: SocketBase, sends: true, receives: true },
  { name: "DEALER", make: () => new Dealer(), base: SocketBase, sends: true, receives: true },
  { name: "ROUTER", make: () => new Router(), base: SocketBase, sends: true, receives: true },
] as const;

describe.each(CASES)("$name capabilities", ({ make, base, sends, receives }) => {
  let socket: SocketBase;
  beforeEach(() => {
    socket = make();
  });
  afterEach(() => socket.close());

  it(`${sends ? "has" : "lacks"} send()`, () => {
    expect(typeof (socket as Partial<Writable>).send).toBe(sends ? "function" : "undefined");
  });

  it(`${receives ? "has" : "lacks"} receive(), messages$ and for await`, () => {
    const readable = socket as Partial<Readable>;
    expect(typeof readable.receive).toBe(receives ? "function" : "undefined");
    expect(typeof readable[Symbol.asyncIterator]).toBe(receives ? "function" : "undefined");
    if (receives) expect(typeof readable.messages$?.subscribe).toBe("function");
    else expect("messages$" in socket).toBe(false);
  });

  it("keeps the base class it had before the mixins", () => {
    expect(socket).toBeInstanceOf(base);
    expect(socket).toBeInstanceOf(SocketBase);
  });

  it("forwards to the one implementation in the mixin, not a copy of its own", () => {
    const own = Object.getOwnPropertyNames(Object.getPrototypeOf(socket));
    for (const name of ["send", "receive", "messages$"]) expect(own).not.toContain(name);
    expect(Object.getOwnPropertySymbols(Object.getPrototypeOf(socket))).not.toContain(Symbol.asyncIterator);
  });
});

describe("the capability mixins", () => {
  it("serve the queue the socket base keeps: a closed socket rejects send() and receive() with EBADF", async () => {
    const socket = new Pair();
    socket.close();
    await expect(socket.send("x")).rejects.toMatchObject({ code: "EBADF" });
    await expect(socket.receive()).rejects.toMatchObject({ code: "EBADF" });
  });

  it("end a for-await loop, rather than throw, when the socket closes", async () => {
    const socket = new Pull();
    const received: unknown[] = [];
    const loop = (async () => {
      for await (const message of socket) received.push(message);
    })();
    socket.close();
    await expect(loop).resolves.toBeUndefined();
    expect(received).toEqual([]);
  });

  it("type-check as zeromq.js's capability interfaces, and only where the socket has them", () => {
    const [sub, pub, xsub, xpub, pull, push, dealer] = [
      new Subscriber(),
      new Publisher(),
      new XSubscriber(),
      new XPublisher(),
      new Pull(),
      new Push(),
      new Dealer(),
    ];
    const readers: Readable[] = [sub, xsub, xpub, pull, dealer];
    const writers: Writable[] = [pub, xpub, xsub, push, dealer];
    expect(readers.every((socket) => typeof socket.receive === "function")).toBe(true);
    expect(writers.every((socket) => typeof socket.send === "function")).toBe(true);
    // @ts-expect-error SUB cannot send
    const subSend = sub.send;
    // @ts-expect-error PUB cannot receive
    const pubReceive = pub.receive;
    // @ts-expect-error sendMessage stays protected behind the mixin
    const hidden = pub.sendMessage;
    expect([subSend, pubReceive, hidden]).toEqual([undefined, undefined, expect.any(Function)]);
    for (const socket of [sub, pub, xsub, xpub, pull, push, dealer]) socket.close();
  });

  it("apply to any socket base, keeping its constructor", () => {
    class Echo extends ReadableMixin(WritableMixin(SocketBase)) {
      private last?: Buffer[];
      constructor() {
        super("PAIR");
      }
      protected xattach(): void {}
      protected xdetach(): void {}
      protected xreadable(): void {}
      protected xsend(message: Buffer[]): true {
        this.last = message;
        return true;
      }
      protected xrecv(): Buffer[] | undefined {
        const message = this.last;
        this.last = undefined;
        return message;
      }
    }
    const echo = new Echo();
    expect(echo.type).toBe("PAIR");
    return echo
      .send("ping")
      .then(() => echo.receive())
      .then((message) => expect(message.map(String)).toEqual(["ping"]))
      .finally(() => echo.close());
  });
});
