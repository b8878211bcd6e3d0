import type { SocketType } from "../../../src";
import { publishUntilReceived, subscription, texts, type CommonOptions, type Side } from "./zeromq-js-peers";

/**
 * Every valid socket pairing with one exchange each, for the zeromq.js
 * suites: test/interop/zeromq-js.test.ts runs it over NULL in every bind
 * direction and transport, test/interop/curve-zeromq-js.test.ts over CURVE.
 */
export interface Pairing {
  readonly a: SocketType;
  readonly b: SocketType;
  /** Options for each side, whichever library plays it. */
  readonly options?: { readonly a?: CommonOptions; readonly b?: CommonOptions };
  /** One request/answer or send/receive with multipart messages; `a` is of type `a`, `b` of type `b`. */
  exchange(a: Side, b: Side): Promise<void>;
}

/** a speaks first, b answers: both directions must carry every frame. */
async function pingPong(a: Side, b: Side): Promise<void> {
  await a.send(["ping", "from", a.lib]);
  expect(texts(await b.receive())).toEqual(["ping", "from", a.lib]);
  await b.send(["pong", "from", b.lib]);
  expect(texts(await a.receive())).toEqual(["pong", "from", b.lib]);
}

/** Sends to an XPUB-fed subscriber once the XPUB has reported the subscription, so no retry loop is needed. */
async function publishAfterSubscription(xpub: Side, subscriber: Side): Promise<void> {
  // The receive must be pending first: a bound libzmq SUB attaches an accepted
  // connection, and only then sends it its subscriptions, when the application
  // next touches the socket; subscribe() alone does not, and zeromq.js only
  // polls a socket that has a receive or send waiting.
  const arrival = subscriber.receive();
  arrival.catch(() => undefined);
  expect(await xpub.receive()).toEqual([subscription(1, "weather")]);
  await xpub.send(["weather.today", "sunny", "warm"]);
  expect(texts(await arrival)).toEqual(["weather.today", "sunny", "warm"]);
}

async function publishToSubscriber(pub: Side, subscriber: Side): Promise<void> {
  const first = await publishUntilReceived(() => pub.send(["weather.today", "sunny", "warm"]), subscriber);
  expect(texts(first)).toEqual(["weather.today", "sunny", "warm"]);
}

export const PAIRINGS: readonly Pairing[] = [
  { a: "REQ", b: "REP", exchange: pingPong },
  {
    a: "REQ",
    b: "ROUTER",
    async exchange(req, router) {
      await req.send(["ping", "from", req.lib]);
      const [id, delimiter, ...body] = await router.receive();
      expect(id!.length).toBeGreaterThan(0);
      expect(delimiter).toEqual(Buffer.alloc(0));
      expect(texts(body)).toEqual(["ping", "from", req.lib]);
      await router.send([id!, "", "pong", "from", router.lib]);
      expect(texts(await req.receive())).toEqual(["pong", "from", router.lib]);
    },
  },
  {
    a: "DEALER",
    b: "REP",
    async exchange(dealer, rep) {
      await dealer.send(["", "ping", "from", dealer.lib]);
      expect(texts(await rep.receive())).toEqual(["ping", "from", dealer.lib]);
      await rep.send(["pong", "from", rep.lib]);
      expect(texts(await dealer.receive())).toEqual(["", "pong", "from", rep.lib]);
    },
  },
  {
    a: "DEALER",
    b: "ROUTER",
    options: { a: { routingId: "dealer-a" } },
    async exchange(dealer, router) {
      await dealer.send(["ping", "from", dealer.lib]);
      expect(texts(await router.receive())).toEqual(["dealer-a", "ping", "from", dealer.lib]);
      await router.send(["dealer-a", "pong", "from", router.lib]);
      expect(texts(await dealer.receive())).toEqual(["pong", "from", router.lib]);
    },
  },
  { a: "DEALER", b: "DEALER", exchange: pingPong },
  {
    a: "ROUTER",
    b: "ROUTER",
    // Both ids are announced in READY, so either router can address the other first; mandatory turns a misrouted send into an error instead of a silent drop.
    options: { a: { routingId: "router-a", mandatory: true }, b: { routingId: "router-b", mandatory: true } },
    async exchange(a, b) {
      await a.send(["router-b", "ping", "from", a.lib]);
      expect(texts(await b.receive())).toEqual(["router-a", "ping", "from", a.lib]);
      await b.send(["router-a", "pong", "from", b.lib]);
      expect(texts(await a.receive())).toEqual(["router-b", "pong", "from", b.lib]);
    },
  },
  {
    a: "PUSH",
    b: "PULL",
    async exchange(push, pull) {
      await push.send(["work", "item", push.lib]);
      expect(texts(await pull.receive())).toEqual(["work", "item", push.lib]);
    },
  },
  {
    a: "PUB",
    b: "SUB",
    async exchange(pub, sub) {
      sub.subscribe("weather");
      await publishToSubscriber(pub, sub);
    },
  },
  {
    a: "PUB",
    b: "XSUB",
    async exchange(pub, xsub) {
      await xsub.send([subscription(1, "weather")]);
      await publishToSubscriber(pub, xsub);
    },
  },
  {
    a: "XPUB",
    b: "SUB",
    async exchange(xpub, sub) {
      sub.subscribe("weather");
      await publishAfterSubscription(xpub, sub);
    },
  },
  {
    a: "XPUB",
    b: "XSUB",
    async exchange(xpub, xsub) {
      await xsub.send([subscription(1, "weather")]);
      await publishAfterSubscription(xpub, xsub);
    },
  },
  { a: "PAIR", b: "PAIR", exchange: pingPong },
];
