import * as zmq from "../../../src";
import { carrierSettings } from "../../../src/transport/threads/registry";
import { RemoteThread, type RemoteSocket } from "./remote";

/**
 * Every socket pairing over inproc between the test's thread and a worker
 * thread: each socket type on each side, the binder on each side, and the
 * bind before or after the connect. One worker serves the whole file.
 */

/** One end of a pairing, in this thread or the worker: frames as strings. */
interface Side {
  send(frames: string[]): Promise<void>;
  receive(): Promise<string[]>;
  subscribe(topic: string): Promise<void>;
  bind(address: string): Promise<void>;
  connect(address: string): Promise<void>;
  close(): Promise<void>;
}

type LocalSocket = zmq.SocketBase & {
  send?(message: string[]): Promise<void>;
  receive?(): Promise<Buffer[]>;
  subscribe?(topic: string): void;
};

const constructors: Record<string, new (options?: object) => LocalSocket> = {
  PAIR: zmq.Pair,
  PUSH: zmq.Push,
  PULL: zmq.Pull,
  REQ: zmq.Request,
  REP: zmq.Reply,
  DEALER: zmq.Dealer,
  ROUTER: zmq.Router,
  PUB: zmq.Publisher,
  SUB: zmq.Subscriber,
  XPUB: zmq.XPublisher,
  XSUB: zmq.XSubscriber,
} as unknown as Record<string, new (options?: object) => LocalSocket>;

function local(type: string, options?: object): Side {
  const socket = new constructors[type]!(options);
  return {
    send: (frames) => socket.send!(frames),
    receive: async () => (await socket.receive!()).map(String),
    subscribe: async (topic) => socket.subscribe!(topic),
    bind: (address) => socket.bind(address),
    connect: async (address) => socket.connect(address),
    close: async () => socket.close(),
  };
}

function remote(socket: RemoteSocket): Side {
  return socket;
}

/** What each pairing must show: `a` is the first type named, `b` the second. */
const exchanges: Record<string, (a: Side, b: Side) => Promise<void>> = {
  "PAIR-PAIR": async (a, b) => {
    await a.send(["up", "1"]);
    expect(await b.receive()).toEqual(["up", "1"]);
    await b.send(["down", "", "2"]);
    expect(await a.receive()).toEqual(["down", "", "2"]);
  },
  "PUSH-PULL": async (push, pull) => {
    for (let i = 0; i < 5; i++) await push.send([`m${i}`, "part"]);
    for (let i = 0; i < 5; i++) expect(await pull.receive()).toEqual([`m${i}`, "part"]);
  },
  "REQ-REP": async (req, rep) => {
    for (let i = 0; i < 3; i++) {
      await req.send(["hello", String(i)]);
      expect(await rep.receive()).toEqual(["hello", String(i)]);
      await rep.send(["world", String(i)]);
      expect(await req.receive()).toEqual(["world", String(i)]);
    }
  },
  "DEALER-ROUTER": async (dealer, router) => {
    // The dealer was opened with routingId "d1": the router must see that id, and route back by it.
    await dealer.send(["hi"]);
    expect(await router.receive()).toEqual(["d1", "hi"]);
    await router.send(["d1", "back"]);
    expect(await dealer.receive()).toEqual(["back"]);
  },
  "PUB-SUB": async (pub, sub) => {
    await sub.subscribe("t");
    const received = sub.receive();
    let settled = false;
    void received.finally(() => (settled = true));
    // The subscription crosses the threads asynchronously (the slow joiner): publish until it lands.
    // An unsubscribed topic goes first each round, so a filter that lets everything through is caught.
    while (!settled) {
      await pub.send(["u", "filtered"]);
      await pub.send(["t", "wanted"]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await received).toEqual(["t", "wanted"]);
  },
  "XPUB-XSUB": async (xpub, xsub) => {
    await xsub.send(["\u0001t"]);
    expect(await xpub.receive()).toEqual(["\u0001t"]);
    await xpub.send(["u", "filtered"]);
    await xpub.send(["t", "wanted"]);
    expect(await xsub.receive()).toEqual(["t", "wanted"]);
  },
};

const options: Record<string, Record<string, unknown>> = { DEALER: { routingId: "d1" } };

let thread: RemoteThread;
beforeAll(async () => {
  thread = new RemoteThread();
  await thread.ready;
}, 30_000);
afterAll(() => thread.terminate());

let counter = 0;
const fresh = (): string => `inproc://pairings-${process.pid}-${++counter}`;

const cases = Object.keys(exchanges).flatMap((pairing) => {
  const [first, second] = pairing.split("-") as [string, string];
  return [...new Set([first, second])].flatMap((here) =>
    ["here", "worker"].flatMap((binder) => ["bind first", "connect first"].map((order) => ({ pairing, first, second, here, binder, order }))),
  );
});

describe.each([
  ["a MessagePort", true],
  ["the BroadcastChannel fallback", false],
])("inproc between two threads over %s", (_carrier, portHandover) => {
  beforeAll(async () => {
    carrierSettings.portHandover = portHandover;
    await thread.call({ op: "portHandover", enabled: portHandover });
  });
  afterAll(() => {
    carrierSettings.portHandover = true;
  });

  it.each(cases)("$pairing: $here in this thread, bound in $binder, $order", async ({ pairing, first, second, here, binder, order }) => {
    const there = here === first ? second : first;
    const mine = local(here, options[here]);
    const theirs = remote(await thread.open(there, options[there]));
    try {
      const address = fresh();
      const [binding, connecting] = binder === "here" ? [mine, theirs] : [theirs, mine];
      if (order === "bind first") {
        await binding.bind(address);
        await connecting.connect(address);
      } else {
        await connecting.connect(address);
        await binding.bind(address);
      }
      const [a, b] = here === first ? [mine, theirs] : [theirs, mine];
      await exchanges[pairing]!(a, b);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });
});
