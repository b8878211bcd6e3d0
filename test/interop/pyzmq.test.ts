/**
 * Interoperability with real libzmq (4.3.4, through pyzmq): every valid
 * socket-type pairing over tcp and ipc with either library binding, large
 * and many messages, routing ids, subscription filtering and forwarding,
 * and ZMTP heartbeats. One driver process per describe block opens all the
 * libzmq sockets its tests need.
 */
import { randomBytes } from "node:crypto";
import {
  Dealer,
  Publisher,
  Pull,
  Push,
  Router,
  SocketBase,
  Subscriber,
  XPublisher,
  XSubscriber,
} from "../../src";
import { bindAddress, closeAll, nextEvent, type TransportName } from "../helpers/endpoints";
import { PyzmqDriver, type PyzmqSocket, type PyzmqSocketType } from "./helpers/pyzmq-driver";
import {
  PrivateerPeer,
  PyzmqPeer,
  privateerSocket,
  publishUntilReceived,
  receiveAfterProbes,
  receiveWhileNudging,
  recordEvents,
  type Peer,
} from "./helpers/pyzmq-peers";
import { describeIfPeer, PYZMQ } from "../helpers/prerequisites";

// Outside CI, skipped when pyzmq is missing (npm test lists it at the end); under CI, run regardless.
const describeWithPyzmq = describeIfPeer(PYZMQ);

const INTEROP_TRANSPORTS: readonly TransportName[] = ["tcp", "ipc"];

const text = (frames: Buffer[]): string[] => frames.map((frame) => frame.toString("latin1"));
const subscription = (topic: string): Buffer => Buffer.concat([Buffer.from([1]), Buffer.from(topic)]);
const cancellation = (topic: string): Buffer => Buffer.concat([Buffer.from([0]), Buffer.from(topic)]);

/**
 * One driver per describe block. Sockets a test opens go through `track`
 * and are closed after it, pass or fail.
 */
function withDriver(): {
  driver: () => PyzmqDriver;
  track: <T extends { close(): unknown }>(resource: T) => T;
} {
  let driver: PyzmqDriver | undefined;
  const open: Array<{ close(): unknown }> = [];
  beforeAll(async () => {
    driver = await PyzmqDriver.start();
  }, 30000);
  afterEach(async () => {
    for (const resource of open.splice(0).reverse()) {
      try {
        // Privateer sockets close without lingering, so nothing outlives the test.
        if (resource instanceof SocketBase) closeAll(resource);
        else await resource.close();
      } catch {
        // A socket the test already closed, or a driver that died (the test itself reports that).
      }
    }
  });
  afterAll(async () => {
    await driver?.close();
  });
  return {
    driver: () => {
      if (!driver) throw new Error("the pyzmq driver did not start");
      return driver;
    },
    track: (resource) => {
      open.push(resource);
      return resource;
    },
  };
}

// ---- socket-type pairings ---------------------------------------------------

interface Pairing {
  readonly a: PyzmqSocketType;
  readonly b: PyzmqSocketType;
  /** Routing ids the two sockets announce. */
  readonly ids?: { readonly a?: string; readonly b?: string };
  /** ROUTER-ROUTER: the connecting side names the bound one locally and must finish the handshake before sending. */
  readonly connectAlias?: string;
  /** The exchange; `connector` is whichever of a and b connected. */
  exchange(a: Peer, b: Peer, connector: Peer): Promise<void>;
}

const PAIRINGS: readonly Pairing[] = [
  {
    a: "REQ",
    b: "REP",
    async exchange(req, rep) {
      for (const round of ["1", "2"]) {
        await req.send(["question", round, "multipart"]);
        expect(text(await rep.receive())).toEqual(["question", round, "multipart"]);
        await rep.send(["answer", round]);
        expect(text(await req.receive())).toEqual(["answer", round]);
      }
    },
  },
  {
    a: "REQ",
    b: "ROUTER",
    ids: { a: "req-a" },
    async exchange(req, router) {
      await req.send(["question", "multipart"]);
      // The ROUTER sees the REQ's envelope: its routing id, then the empty delimiter.
      expect(text(await router.receive())).toEqual(["req-a", "", "question", "multipart"]);
      await router.send(["req-a", "", "answer", "multipart"]);
      expect(text(await req.receive())).toEqual(["answer", "multipart"]);
    },
  },
  {
    a: "DEALER",
    b: "REP",
    async exchange(dealer, rep) {
      await dealer.send(["", "question", "multipart"]);
      expect(text(await rep.receive())).toEqual(["question", "multipart"]);
      await rep.send(["answer", "multipart"]);
      expect(text(await dealer.receive())).toEqual(["", "answer", "multipart"]);
    },
  },
  {
    a: "DEALER",
    b: "ROUTER",
    ids: { a: "dealer-a" },
    async exchange(dealer, router) {
      await dealer.send(["question", "multipart"]);
      expect(text(await router.receive())).toEqual(["dealer-a", "question", "multipart"]);
      await router.send(["dealer-a", "answer", "multipart"]);
      expect(text(await dealer.receive())).toEqual(["answer", "multipart"]);
    },
  },
  {
    a: "DEALER",
    b: "DEALER",
    async exchange(a, b) {
      await a.send(["from-a", "multipart"]);
      expect(text(await b.receive())).toEqual(["from-a", "multipart"]);
      await b.send(["from-b", "multipart", ""]);
      expect(text(await a.receive())).toEqual(["from-b", "multipart", ""]);
    },
  },
  {
    a: "ROUTER",
    b: "ROUTER",
    ids: { a: "router-a", b: "router-b" },
    connectAlias: "bound-alias",
    async exchange(a, b, connector) {
      const bound = connector === a ? b : a;
      await connector.send(["bound-alias", "hello", "multipart"]);
      expect(text(await bound.receive())).toEqual([connector.routingId!, "hello", "multipart"]);
      await bound.send([connector.routingId!, "welcome", "multipart"]);
      expect(text(await connector.receive())).toEqual(["bound-alias", "welcome", "multipart"]);
    },
  },
  {
    a: "PUSH",
    b: "PULL",
    async exchange(push, pull) {
      await push.send(["job", "1", "multipart"]);
      await push.send(["job", "2"]);
      expect(text(await pull.receive())).toEqual(["job", "1", "multipart"]);
      expect(text(await pull.receive())).toEqual(["job", "2"]);
    },
  },
  {
    a: "PUB",
    b: "SUB",
    async exchange(pub, sub) {
      await sub.subscribe("news");
      await publishUntilReceived(pub, sub, ["news.probe"]);
      await pub.send(["news", "multipart", "body"]);
      expect(text(await receiveAfterProbes(sub, (m) => m[0]!.toString() === "news.probe"))).toEqual([
        "news",
        "multipart",
        "body",
      ]);
    },
  },
  {
    a: "PUB",
    b: "XSUB",
    async exchange(pub, xsub) {
      await xsub.send([subscription("news")]);
      await publishUntilReceived(pub, xsub, ["news.probe"]);
      await pub.send(["news", "multipart", "body"]);
      expect(text(await receiveAfterProbes(xsub, (m) => m[0]!.toString() === "news.probe"))).toEqual([
        "news",
        "multipart",
        "body",
      ]);
    },
  },
  {
    a: "XPUB",
    b: "SUB",
    async exchange(xpub, sub) {
      await sub.subscribe("news");
      // XPUB reports a subscription once it has applied it, so no probe publishing is needed.
      expect(await receiveWhileNudging(xpub, sub)).toEqual([subscription("news")]);
      await xpub.send(["news", "multipart", "body"]);
      expect(text(await sub.receive())).toEqual(["news", "multipart", "body"]);
    },
  },
  {
    a: "XPUB",
    b: "XSUB",
    async exchange(xpub, xsub) {
      await xsub.send([subscription("news")]);
      // A bound libzmq XSUB may not have attached the connection yet when it sends (see receiveWhileNudging).
      expect(await receiveWhileNudging(xpub, xsub)).toEqual([subscription("news")]);
      await xpub.send(["news", "multipart", "body"]);
      expect(text(await xsub.receive())).toEqual(["news", "multipart", "body"]);
    },
  },
  {
    a: "PAIR",
    b: "PAIR",
    async exchange(a, b) {
      await a.send(["from-a", "multipart"]);
      expect(text(await b.receive())).toEqual(["from-a", "multipart"]);
      await b.send(["from-b", "multipart"]);
      expect(text(await a.receive())).toEqual(["from-b", "multipart"]);
    },
  },
];

interface PairingCase {
  readonly pairing: Pairing;
  /** Which library plays socket type `a` (the other plays `b`). */
  readonly privateerPlays: "a" | "b";
  readonly binder: "privateer" | "pyzmq";
}

function pairingCases(): Array<[string, PairingCase]> {
  const cases: Array<[string, PairingCase]> = [];
  for (const pairing of PAIRINGS) {
    // A symmetric pairing looks the same whichever library plays which end.
    const roles: Array<"a" | "b"> = pairing.a === pairing.b ? ["a"] : ["a", "b"];
    for (const privateerPlays of roles) {
      for (const binder of ["privateer", "pyzmq"] as const) {
        const pvType = privateerPlays === "a" ? pairing.a : pairing.b;
        const pyType = privateerPlays === "a" ? pairing.b : pairing.a;
        const pvRole = binder === "privateer" ? "binds" : "connects";
        const pyRole = binder === "pyzmq" ? "binds" : "connects";
        cases.push([`Privateer ${pvType} (${pvRole}) with pyzmq ${pyType} (${pyRole})`, { pairing, privateerPlays, binder }]);
      }
    }
  }
  return cases;
}

describeWithPyzmq("pyzmq interop: every socket-type pairing", () => {
  const { driver, track } = withDriver();

  describe.each(INTEROP_TRANSPORTS)("over %s", (transport) => {
    it.each(pairingCases())("%s", async (_name, { pairing, privateerPlays, binder }) => {
      const pvEnd = privateerPlays;
      const pyEnd = privateerPlays === "a" ? "b" : "a";
      const pvType = pairing[pvEnd];
      const pyType = pairing[pyEnd];
      const pv = track(new PrivateerPeer(privateerSocket(pvType, pairing.ids?.[pvEnd]), pairing.ids?.[pvEnd]));
      const py = track(await PyzmqPeer.open(driver(), pyType, pairing.ids?.[pyEnd]));
      const [bound, connector] = binder === "privateer" ? [pv, py] : [py, pv];

      const handshake = nextEvent(pv.socket, "handshake");
      const endpoint = await bound.bind(transport);
      await connector.connect(endpoint, {
        routingId: pairing.connectAlias,
        awaitHandshake: pairing.connectAlias !== undefined,
      });

      // Privateer must have read libzmq's READY correctly: its socket type, and its identity where libzmq sends one.
      const { peer } = await handshake;
      expect(peer.socketType).toBe(pyType);
      expect(peer.protocol).toBe("ZMTP/3.1");
      const announced = pairing.ids?.[pyEnd];
      if (announced !== undefined) expect(peer.routingId.toString()).toBe(announced);

      const a = pvEnd === "a" ? pv : py;
      const b = pvEnd === "a" ? py : pv;
      await pairing.exchange(a, b, connector);
    });
  });
});

// ---- volume -------------------------------------------------------------------

describeWithPyzmq("pyzmq interop: large and many messages", () => {
  const { driver, track } = withDriver();

  describe.each(INTEROP_TRANSPORTS)("over %s", (transport) => {
    it("carries a 2 MiB frame each way intact (8-byte frame sizes both ways)", async () => {
      const pv = track(new Dealer());
      const py = track(await driver().socket("DEALER"));
      const handshake = nextEvent(pv, "handshake");
      await pv.bind(bindAddress(transport));
      await py.connect(pv.lastEndpoint!);
      await handshake;

      const outbound = randomBytes(2 * 1024 * 1024);
      await pv.send(["big", outbound]);
      const atPython = await py.receive();
      expect(atPython).toHaveLength(2);
      expect(atPython[0]!.toString()).toBe("big");
      expect(atPython[1]!.equals(outbound)).toBe(true);

      const inbound = randomBytes(2 * 1024 * 1024);
      await py.send([inbound, "tail"]);
      const atPrivateer = await pv.receive();
      expect(atPrivateer).toHaveLength(2);
      expect(atPrivateer[0]!.equals(inbound)).toBe(true);
      expect(atPrivateer[1]!.toString()).toBe("tail");
    });

    it("delivers 1,000 messages in order each way", async () => {
      const count = 1000;
      // Privateer PUSH binds, pyzmq PULL connects.
      const push = track(new Push());
      const pyPull = track(await driver().socket("PULL"));
      await push.bind(bindAddress(transport));
      await pyPull.connect(push.lastEndpoint!);
      const collected = pyPull.receiveMany(count);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) sends.push(push.send([String(i), "payload"]));
      await Promise.all(sends);
      const atPython = await collected;
      expect(atPython.map((m) => m[0]!.toString())).toEqual(Array.from({ length: count }, (_, i) => String(i)));
      expect(atPython.every((m) => m.length === 2 && m[1]!.toString() === "payload")).toBe(true);

      // pyzmq PUSH binds, Privateer PULL connects.
      const pyPush = track(await driver().socket("PUSH"));
      const pull = track(new Pull());
      const handshake = nextEvent(pull, "handshake");
      pull.connect(await pyPush.bind(bindAddress(transport)));
      await handshake;
      const received: string[] = [];
      const draining = (async () => {
        while (received.length < count) {
          const message = await pull.receive();
          expect(message).toHaveLength(2);
          received.push(message[0]!.toString());
        }
      })();
      await pyPush.sendMany(count, ["payload"]);
      await draining;
      expect(received).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    });
  });
});

// ---- routing ids ----------------------------------------------------------------

describeWithPyzmq("pyzmq interop: ROUTER routing ids", () => {
  const { driver, track } = withDriver();
  // Not valid UTF-8, so a lossy string conversion anywhere on the path would show.
  const binaryId = Buffer.from([0x01, 0xfe, 0x80, 0x00, 0x7f]);

  it("a Privateer ROUTER addresses pyzmq DEALERs by the ids they announce", async () => {
    const router = track(new Router());
    await router.bind(bindAddress("tcp"));
    const left = track(await driver().socket("DEALER", { routing_id: "py-left" }));
    const right = track(await driver().socket("DEALER", { routing_id: binaryId }));
    const anonymous = track(await driver().socket("DEALER"));
    for (const dealer of [left, right, anonymous]) await dealer.connect(router.lastEndpoint!);

    // Each dealer says hello, so the router learns (or, for the anonymous one, generates) its id.
    const ids = new Map<string, Buffer>();
    for (const [name, dealer] of [["left", left], ["right", right], ["anonymous", anonymous]] as const) {
      await dealer.send(["hello", name]);
      const [id, ...body] = await router.receive();
      expect(text(body)).toEqual(["hello", name]);
      ids.set(name, id!);
    }
    expect(ids.get("left")!.toString()).toBe("py-left");
    expect(ids.get("right")!.equals(binaryId)).toBe(true);
    // libzmq's convention, which Privateer follows: a generated id is a zero byte then four more.
    expect(ids.get("anonymous")![0]).toBe(0);
    expect(ids.get("anonymous")).toHaveLength(5);

    // Reverse order, so a router that merely round-robins would misdeliver.
    for (const name of ["anonymous", "right", "left"]) await router.send([ids.get(name)!, "for", name]);
    expect(text(await left.receive())).toEqual(["for", "left"]);
    expect(text(await right.receive())).toEqual(["for", "right"]);
    expect(text(await anonymous.receive())).toEqual(["for", "anonymous"]);
  });

  it("a pyzmq ROUTER addresses Privateer DEALERs by the ids they announce", async () => {
    const router = track(await driver().socket("ROUTER"));
    const endpoint = await router.bind(bindAddress("tcp"));
    const left = track(new Dealer({ routingId: "pv-left" }));
    const right = track(new Dealer({ routingId: binaryId }));
    const anonymous = track(new Dealer());
    for (const dealer of [left, right, anonymous]) dealer.connect(endpoint);

    const ids = new Map<string, Buffer>();
    for (const [name, dealer] of [["left", left], ["right", right], ["anonymous", anonymous]] as const) {
      await dealer.send(["hello", name]);
      const [id, ...body] = await router.receive();
      expect(text(body)).toEqual(["hello", name]);
      ids.set(name, id!);
    }
    expect(ids.get("left")!.toString()).toBe("pv-left");
    expect(ids.get("right")!.equals(binaryId)).toBe(true);
    // Privateer sent no Identity, so libzmq generated one.
    expect(ids.get("anonymous")![0]).toBe(0);

    for (const name of ["anonymous", "right", "left"]) await router.send([ids.get(name)!, "for", name]);
    expect(text(await left.receive())).toEqual(["for", "left"]);
    expect(text(await right.receive())).toEqual(["for", "right"]);
    expect(text(await anonymous.receive())).toEqual(["for", "anonymous"]);
  });
});

// ---- subscriptions --------------------------------------------------------------

describeWithPyzmq("pyzmq interop: subscriptions", () => {
  const { driver, track } = withDriver();
  const isProbe = (message: Buffer[]): boolean => message[0]!.toString() === "weather.probe";

  /**
   * Publishes matching and non-matching topics, then an end marker. A
   * connection keeps order, so if the subscriber filters correctly it sees
   * exactly the matching messages before the marker.
   */
  async function expectFiltered(pub: Peer, sub: Peer): Promise<void> {
    await publishUntilReceived(pub, sub, ["weather.probe"]);
    const published = ["sports", "weather.paris", "weath", "Weather.oslo", "weatherman", "", "weather.end"];
    for (const topic of published) await pub.send([topic, "body"]);
    const seen: string[] = [];
    for (let message = await receiveAfterProbes(sub, isProbe); ; message = await sub.receive()) {
      seen.push(message[0]!.toString());
      if (message[0]!.toString() === "weather.end") break;
    }
    expect(seen).toEqual(["weather.paris", "weatherman", "weather.end"]);
  }

  describe.each(INTEROP_TRANSPORTS)("over %s", (transport) => {
    it("a pyzmq SUB receives only matching topics from a Privateer PUB", async () => {
      const pub = track(new PrivateerPeer(new Publisher()));
      const sub = track(await PyzmqPeer.open(driver(), "SUB"));
      const endpoint = await pub.bind(transport);
      await sub.subscribe("weather");
      await sub.connect(endpoint);
      await expectFiltered(pub, sub);
    });

    it("a Privateer SUB receives only matching topics from a pyzmq PUB", async () => {
      const pub = track(await PyzmqPeer.open(driver(), "PUB"));
      const sub = track(new PrivateerPeer(new Subscriber()));
      const endpoint = await pub.bind(transport);
      await sub.subscribe("weather");
      await sub.connect(endpoint);
      await expectFiltered(pub, sub);
    });

    it("a Privateer XPUB sees a pyzmq XSUB's subscribe and cancel, and applies them", async () => {
      const xpub = track(new XPublisher());
      const xsub = track(await driver().socket("XSUB"));
      await xpub.bind(bindAddress(transport));
      await xsub.connect(xpub.lastEndpoint!);
      await xsub.send([subscription("alerts")]);
      expect(await xpub.receive()).toEqual([subscription("alerts")]);
      await xpub.send(["alerts.fire", "now"]);
      expect(text(await xsub.receive())).toEqual(["alerts.fire", "now"]);

      await xsub.send([cancellation("alerts")]);
      expect(await xpub.receive()).toEqual([cancellation("alerts")]);
      // Once the cancel has arrived the XPUB must stop sending that topic; a later topic proves the queue moved on.
      await xsub.send([subscription("other")]);
      expect(await xpub.receive()).toEqual([subscription("other")]);
      await xpub.send(["alerts.fire", "again"]);
      await xpub.send(["other", "last"]);
      expect(text(await xsub.receive())).toEqual(["other", "last"]);
    });

    it("a pyzmq XPUB sees a Privateer XSUB's subscribe and cancel, and applies them", async () => {
      const xpub = track(await driver().socket("XPUB"));
      const xsub = track(new XSubscriber());
      const handshake = nextEvent(xsub, "handshake");
      xsub.connect(await xpub.bind(bindAddress(transport)));
      await handshake;
      await xsub.send(subscription("alerts"));
      expect(await xpub.receive()).toEqual([subscription("alerts")]);
      await xpub.send(["alerts.fire", "now"]);
      expect(text(await xsub.receive())).toEqual(["alerts.fire", "now"]);

      await xsub.send(cancellation("alerts"));
      expect(await xpub.receive()).toEqual([cancellation("alerts")]);
      await xsub.send(subscription("other"));
      expect(await xpub.receive()).toEqual([subscription("other")]);
      await xpub.send(["alerts.fire", "again"]);
      await xpub.send(["other", "last"]);
      expect(text(await xsub.receive())).toEqual(["other", "last"]);
    });
  });
});

// ---- heartbeats -------------------------------------------------------------------

describeWithPyzmq("pyzmq interop: ZMTP heartbeats", () => {
  const { driver, track } = withDriver();
  const heartbeats = { heartbeat_ivl: 50, heartbeat_timeout: 200, heartbeat_ttl: 500 };
  /**
   * Long enough for ten 50 ms heartbeats and past both the 200 ms PONG
   * timeout and the 500 ms TTL, so a peer that failed to answer or to send
   * PINGs would have been dropped. Time passing is what is under test here,
   * so this is a fixed observation window, not a wait for some event.
   */
  const WINDOW_MS = 650;
  const observe = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  interface HeartbeatCase {
    readonly binder: "privateer" | "pyzmq";
    readonly privateerHeartbeats: boolean;
  }
  const cases: Array<[string, HeartbeatCase]> = [
    ["pyzmq heartbeats, connecting to Privateer", { binder: "privateer", privateerHeartbeats: false }],
    ["pyzmq heartbeats, Privateer connecting", { binder: "pyzmq", privateerHeartbeats: false }],
    ["both heartbeat, pyzmq connecting", { binder: "privateer", privateerHeartbeats: true }],
    ["both heartbeat, Privateer connecting", { binder: "pyzmq", privateerHeartbeats: true }],
  ];

  it.each(cases)("%s: the idle connection survives ~10 intervals", async (_name, { binder, privateerHeartbeats }) => {
    const pv = track(
      new Dealer(
        privateerHeartbeats ? { heartbeatInterval: 50, heartbeatTimeout: 200, heartbeatTimeToLive: 500 } : {},
      ),
    );
    const py: PyzmqSocket = track(await driver().socket("DEALER", heartbeats));
    await py.monitor();
    const handshake = nextEvent(pv, "handshake");
    if (binder === "privateer") {
      await pv.bind(bindAddress("tcp"));
      await py.connect(pv.lastEndpoint!);
    } else {
      pv.connect(await py.bind(bindAddress("tcp")));
    }
    await handshake;
    await py.monitorEvents("HANDSHAKE_SUCCEEDED");

    const disconnects = recordEvents(pv, "disconnect");
    const handshakes = recordEvents(pv, "handshake");
    await observe(WINDOW_MS);
    expect(disconnects()).toEqual([]);
    // A reconnect in between would hide a drop from the disconnect check above.
    expect(handshakes()).toEqual([]);
    const pyEvents = (await py.monitorEvents()).map((e) => e.event);
    expect(pyEvents).not.toContain("DISCONNECTED");

    await py.send(["still", "here"]);
    expect(text(await pv.receive())).toEqual(["still", "here"]);
    await pv.send(["and", "you"]);
    expect(text(await py.receive())).toEqual(["and", "you"]);
  });
});
