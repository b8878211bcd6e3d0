/**
 * Interoperability with real libzmq (4.3.5, through the zeromq.js 6
 * package): every valid socket pairing, both bind directions, tcp and ipc,
 * plus long frames, ordering, routing ids, subscription forwarding,
 * heartbeats and socket-type refusal.
 */
import { randomBytes } from "node:crypto";
import * as zmq from "zeromq";
import * as pv from "../../src";
import { bindAddress, events, nextEvent, type TransportName } from "../helpers/endpoints";
import {
  expectNoEvent,
  libzmqSide,
  linkPeers,
  Peers,
  privateerSide,
  publishUntilReceived,
  recordLibzmqEvents,
  subscription,
  texts,
  type Library,
  type Side,
} from "./helpers/zeromq-js-peers";
import { PAIRINGS, type Pairing } from "./helpers/pairings";

const INTEROP_TRANSPORTS: readonly TransportName[] = ["tcp", "ipc"];
const BINDERS: readonly Library[] = ["privateer", "libzmq"];

const peers = new Peers();
afterEach(() => peers.closeAll());

// ---------------------------------------------------------------------------
// The pairing matrix
// ---------------------------------------------------------------------------

interface MatrixCase {
  readonly pairing: Pairing;
  /** Which role Privateer plays; libzmq plays the other. */
  readonly privateerRole: "a" | "b";
  readonly binder: Library;
  readonly transport: TransportName;
}

// Every pairing with Privateer in each role (for symmetric pairings that decides who speaks first), each side binding, over tcp and ipc.
const MATRIX: MatrixCase[] = PAIRINGS.flatMap((pairing) =>
  (["a", "b"] as const).flatMap((privateerRole) =>
    BINDERS.flatMap((binder) =>
      INTEROP_TRANSPORTS.map((transport) => ({ pairing, privateerRole, binder, transport })),
    ),
  ),
);

function caseName({ pairing, privateerRole, binder, transport }: MatrixCase): string {
  const ours = privateerRole === "a" ? pairing.a : pairing.b;
  const theirs = privateerRole === "a" ? pairing.b : pairing.a;
  const roles = privateerRole === "a" ? "Privateer/libzmq" : "libzmq/Privateer";
  return `${pairing.a}-${pairing.b} (${roles}): Privateer ${ours} ${binder === "privateer" ? "binds" : "connects"}, libzmq ${theirs} ${binder === "privateer" ? "connects" : "binds"}, ${transport}`;
}

describe("socket pairing matrix against libzmq", () => {
  it.each(MATRIX.map((c) => [caseName(c), c] as const))("%s", async (_name, matrixCase) => {
    const { pairing, privateerRole, binder, transport } = matrixCase;
    const libzmqRole = privateerRole === "a" ? "b" : "a";
    const ourType = pairing[privateerRole];
    const theirType = pairing[libzmqRole];
    const ours = peers.privateerSocket(ourType, pairing.options?.[privateerRole]);
    const theirs = peers.libzmqSocket(theirType, pairing.options?.[libzmqRole]);

    const handshake = await linkPeers(peers, ours, theirs, binder, transport);
    expect(handshake.peer.socketType).toBe(theirType);
    expect(handshake.peer.protocol).toBe("ZMTP/3.1");

    const ourSide = privateerSide(ourType, ours);
    const theirSide = libzmqSide(theirType, theirs);
    if (privateerRole === "a") await pairing.exchange(ourSide, theirSide);
    else await pairing.exchange(theirSide, ourSide);
  });
});

// ---------------------------------------------------------------------------
// Volume: long frames and ordering
// ---------------------------------------------------------------------------

describe.each(INTEROP_TRANSPORTS)("volume against libzmq over %s", (transport) => {
  const TWO_MIB = 2 * 1024 * 1024;

  it("carries a 2 MiB single-frame message from Privateer to libzmq byte for byte", async () => {
    const push = peers.privateerSocket<pv.Push>("PUSH");
    const pull = peers.libzmqSocket<zmq.Pull>("PULL");
    await linkPeers(peers, push, pull, "privateer", transport);
    const payload = randomBytes(TWO_MIB);
    await push.send(payload);
    const frames = await pull.receive();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(TWO_MIB);
    expect(frames[0]!.equals(payload)).toBe(true);
  });

  it("carries a 2 MiB single-frame message from libzmq to Privateer byte for byte", async () => {
    const push = peers.libzmqSocket<zmq.Push>("PUSH");
    const pull = peers.privateerSocket<pv.Pull>("PULL");
    await linkPeers(peers, pull, push, "libzmq", transport);
    const payload = randomBytes(TWO_MIB);
    await push.send(payload);
    const frames = await pull.receive();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(TWO_MIB);
    expect(frames[0]!.equals(payload)).toBe(true);
  });

  const COUNT = 1000;

  async function drain(receive: () => Promise<Buffer[]>): Promise<number[]> {
    const seen: number[] = [];
    for (let i = 0; i < COUNT; i++) {
      const [sequence, check] = await receive();
      expect(check!.toString()).toBe(`payload-${sequence!.toString()}`);
      seen.push(Number(sequence!.toString()));
    }
    return seen;
  }

  const inOrder = Array.from({ length: COUNT }, (_, i) => i);

  it("delivers 1,000 messages from Privateer PUSH to libzmq PULL in order", async () => {
    const push = peers.privateerSocket<pv.Push>("PUSH");
    const pull = peers.libzmqSocket<zmq.Pull>("PULL");
    await linkPeers(peers, push, pull, "libzmq", transport);
    const received = drain(() => pull.receive());
    for (let i = 0; i < COUNT; i++) await push.send([String(i), `payload-${i}`]);
    expect(await received).toEqual(inOrder);
  });

  it("delivers 1,000 messages from libzmq PUSH to Privateer PULL in order", async () => {
    const push = peers.libzmqSocket<zmq.Push>("PUSH");
    const pull = peers.privateerSocket<pv.Pull>("PULL");
    await linkPeers(peers, pull, push, "privateer", transport);
    const received = drain(() => pull.receive());
    for (let i = 0; i < COUNT; i++) await push.send([String(i), `payload-${i}`]);
    expect(await received).toEqual(inOrder);
  });
});

// ---------------------------------------------------------------------------
// Routing ids
// ---------------------------------------------------------------------------

describe.each(INTEROP_TRANSPORTS)("routing ids against libzmq over %s", (transport) => {
  it("a Privateer ROUTER sees zeromq.js DEALERs by their routingId and routes each reply to its sender", async () => {
    const router = peers.privateerSocket<pv.Router>("ROUTER");
    const z1 = peers.libzmqSocket<zmq.Dealer>("DEALER", { routingId: "z1" });
    const z2 = peers.libzmqSocket<zmq.Dealer>("DEALER", { routingId: "z2" });
    await router.bind(bindAddress(transport));
    const handshakes = events(router, "handshake", 2);
    z1.connect(router.lastEndpoint!);
    z2.connect(router.lastEndpoint!);
    const ids = (await handshakes).map((event) => event.peer.routingId.toString()).sort();
    expect(ids).toEqual(["z1", "z2"]);

    await z1.send(["from", "z1"]);
    await z2.send(["from", "z2"]);
    const requests = [await router.receive(), await router.receive()].map(texts);
    expect(requests).toEqual(expect.arrayContaining([["z1", "from", "z1"], ["z2", "from", "z2"]]));

    // Answer in the opposite order of arrival so a router that ignored the id frame would cross the replies.
    for (const [id] of [...requests].reverse()) await router.send([id!, "reply", `for ${id!}`]);
    expect(texts(await z1.receive())).toEqual(["reply", "for z1"]);
    expect(texts(await z2.receive())).toEqual(["reply", "for z2"]);
  });

  it("a zeromq.js ROUTER sees Privateer DEALERs by their routingId and routes each reply to its sender", async () => {
    const router = peers.libzmqSocket<zmq.Router>("ROUTER");
    const p1 = peers.privateerSocket<pv.Dealer>("DEALER", { routingId: "p1" });
    const p2 = peers.privateerSocket<pv.Dealer>("DEALER", { routingId: "p2" });
    const address = await peers.bindLibzmq(router, transport);
    const handshakes = Promise.all([nextEvent(p1, "handshake"), nextEvent(p2, "handshake")]);
    p1.connect(address);
    p2.connect(address);
    for (const event of await handshakes) expect(event.peer.socketType).toBe("ROUTER");

    await p1.send(["from", "p1"]);
    await p2.send(["from", "p2"]);
    const requests = [await router.receive(), await router.receive()].map(texts);
    expect(requests).toEqual(expect.arrayContaining([["p1", "from", "p1"], ["p2", "from", "p2"]]));

    for (const [id] of [...requests].reverse()) await router.send([id!, "reply", `for ${id!}`]);
    expect(texts(await p1.receive())).toEqual(["reply", "for p1"]);
    expect(texts(await p2.receive())).toEqual(["reply", "for p2"]);
  });
});

// ---------------------------------------------------------------------------
// Publish/subscribe: filtering and subscription forwarding
// ---------------------------------------------------------------------------

describe.each(INTEROP_TRANSPORTS)("publish/subscribe against libzmq over %s", (transport) => {
  // Each round publishes the unwanted topic first: if filtering failed anywhere, it would be the first to arrive.
  const publishBoth = (pub: Side) => async (): Promise<void> => {
    await pub.send(["sports", "goal"]);
    await pub.send(["weather", "rain"]);
  };

  it("a libzmq SUB receives only its topic from a Privateer PUB", async () => {
    const pub = peers.privateerSocket<pv.Publisher>("PUB");
    const sub = peers.libzmqSocket<zmq.Subscriber>("SUB");
    sub.subscribe("weather");
    await linkPeers(peers, pub, sub, "privateer", transport);
    const first = await publishUntilReceived(publishBoth(privateerSide("PUB", pub)), libzmqSide("SUB", sub));
    expect(texts(first)).toEqual(["weather", "rain"]);
  });

  it("a Privateer SUB receives only its topic from a libzmq PUB", async () => {
    const pub = peers.libzmqSocket<zmq.Publisher>("PUB");
    const sub = peers.privateerSocket<pv.Subscriber>("SUB");
    sub.subscribe("weather");
    await linkPeers(peers, sub, pub, "libzmq", transport);
    const first = await publishUntilReceived(publishBoth(libzmqSide("PUB", pub)), privateerSide("SUB", sub));
    expect(texts(first)).toEqual(["weather", "rain"]);
  });

  it("a Privateer XPUB receives a libzmq XSUB's subscription and cancel as 0x01/0x00 + topic", async () => {
    const xpub = peers.privateerSocket<pv.XPublisher>("XPUB");
    const xsub = peers.libzmqSocket<zmq.XSubscriber>("XSUB");
    await linkPeers(peers, xpub, xsub, "privateer", transport);
    await xsub.send(subscription(1, "news"));
    expect(await xpub.receive()).toEqual([subscription(1, "news")]);
    await xsub.send(subscription(0, "news"));
    expect(await xpub.receive()).toEqual([subscription(0, "news")]);
  });

  it("a libzmq XPUB receives a Privateer SUB's subscription and its cancel", async () => {
    const xpub = peers.libzmqSocket<zmq.XPublisher>("XPUB");
    const sub = peers.privateerSocket<pv.Subscriber>("SUB");
    await linkPeers(peers, sub, xpub, "libzmq", transport);
    sub.subscribe("news");
    expect(await xpub.receive()).toEqual([subscription(1, "news")]);
    sub.unsubscribe("news");
    expect(await xpub.receive()).toEqual([subscription(0, "news")]);
  });

  it("a libzmq XPUB receives a Privateer XSUB's subscription and its cancel", async () => {
    const xpub = peers.libzmqSocket<zmq.XPublisher>("XPUB");
    const xsub = peers.privateerSocket<pv.XSubscriber>("XSUB");
    await linkPeers(peers, xsub, xpub, "privateer", transport);
    await xsub.send(subscription(1, "news"));
    expect(await xpub.receive()).toEqual([subscription(1, "news")]);
    await xsub.send(subscription(0, "news"));
    expect(await xpub.receive()).toEqual([subscription(0, "news")]);
  });

  it("a Privateer SUB that subscribed before connecting is announced to a libzmq XPUB on connect", async () => {
    const xpub = peers.libzmqSocket<zmq.XPublisher>("XPUB");
    const sub = peers.privateerSocket<pv.Subscriber>("SUB");
    sub.subscribe("early");
    await linkPeers(peers, sub, xpub, "libzmq", transport);
    expect(await xpub.receive()).toEqual([subscription(1, "early")]);
  });
});

// ---------------------------------------------------------------------------
// Heartbeats
// ---------------------------------------------------------------------------

describe.each(INTEROP_TRANSPORTS)("heartbeats against libzmq over %s", (transport) => {
  // Ten ping intervals: a peer that ignored PINGs would be dropped after the first timeout (150 ms).
  const INTERVAL = 50;
  const WINDOW = 10 * INTERVAL;

  it.each(BINDERS)(
    "a Privateer DEALER stays connected to a heartbeating libzmq DEALER (%s binds)",
    async (binder) => {
      const ours = peers.privateerSocket<pv.Dealer>("DEALER");
      const theirs = peers.libzmqSocket<zmq.Dealer>("DEALER", {
        heartbeatInterval: INTERVAL,
        heartbeatTimeout: 3 * INTERVAL,
        heartbeatTimeToLive: 4 * INTERVAL,
      });
      const theirDisconnects = recordLibzmqEvents(theirs, "disconnect");
      await linkPeers(peers, ours, theirs, binder, transport);
      await expectNoEvent(ours, "disconnect", WINDOW);
      expect(theirDisconnects).toEqual([]);

      await theirs.send(["still", "there"]);
      expect(texts(await ours.receive())).toEqual(["still", "there"]);
      await ours.send(["yes", "here"]);
      expect(texts(await theirs.receive())).toEqual(["yes", "here"]);
    },
  );

  it.each(BINDERS)(
    "a heartbeating Privateer DEALER stays connected to a silent libzmq DEALER that answers PINGs (%s binds)",
    async (binder) => {
      const ours = peers.privateerSocket<pv.Dealer>("DEALER", {
        heartbeatInterval: INTERVAL,
        heartbeatTimeout: 3 * INTERVAL,
        heartbeatTimeToLive: 4 * INTERVAL,
      });
      const theirs = peers.libzmqSocket<zmq.Dealer>("DEALER");
      const theirDisconnects = recordLibzmqEvents(theirs, "disconnect");
      await linkPeers(peers, ours, theirs, binder, transport);
      await expectNoEvent(ours, "disconnect", WINDOW);
      expect(theirDisconnects).toEqual([]);

      await ours.send(["still", "there"]);
      expect(texts(await theirs.receive())).toEqual(["still", "there"]);
      await theirs.send(["yes", "here"]);
      expect(texts(await ours.receive())).toEqual(["yes", "here"]);
    },
  );
});

// ---------------------------------------------------------------------------
// Refusing incompatible peers
// ---------------------------------------------------------------------------

describe.each(INTEROP_TRANSPORTS)("socket-type checks against libzmq over %s", (transport) => {
  it("a Privateer PUSH connecting to a libzmq PUB reports incompatible-socket-type", async () => {
    const pub = peers.libzmqSocket<zmq.Publisher>("PUB");
    const push = peers.privateerSocket<pv.Push>("PUSH");
    const address = await peers.bindLibzmq(pub, transport);
    const failure = nextEvent(push, "handshake:error");
    push.connect(address);
    const event = await failure;
    expect(event.error).toBeInstanceOf(pv.ProtocolError);
    expect(event.error.reason).toBe("incompatible-socket-type");
  });

  it("a libzmq PUB connecting to a Privateer PUSH is refused with incompatible-socket-type", async () => {
    const push = peers.privateerSocket<pv.Push>("PUSH");
    const pub = peers.libzmqSocket<zmq.Publisher>("PUB");
    await push.bind(bindAddress(transport));
    const failure = nextEvent(push, "handshake:error");
    const handshakes: unknown[] = [];
    const watch = push.events$.subscribe((event) => {
      if (event.type === "handshake") handshakes.push(event);
    });
    pub.connect(push.lastEndpoint!);
    expect((await failure).error.reason).toBe("incompatible-socket-type");
    watch.unsubscribe();
    expect(handshakes).toEqual([]);
  });
});
