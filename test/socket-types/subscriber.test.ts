import { Publisher, Subscriber, XPublisher } from "../../src";
import { closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";
import { receiveThrough, untilReceived } from "../socket/support";

const hex = (message: Buffer[]): string => message[0]!.toString("hex");
const sub = (topic: string): string => Buffer.concat([Buffer.from([1]), Buffer.from(topic)]).toString("hex");
const unsub = (topic: string): string => Buffer.concat([Buffer.from([0]), Buffer.from(topic)]).toString("hex");

/**
 * SUB's side of RFC 29, observed through an XPUB upstream, which shows every
 * subscription message as it arrives.
 */
describe.each(TRANSPORTS)("SUB over %s", (transport) => {
  let xpub: XPublisher;
  let subscriber: Subscriber;

  beforeEach(() => {
    xpub = new XPublisher();
    subscriber = new Subscriber();
  });
  afterEach(() => closeAll(xpub, subscriber));

  it("counts subscriptions: the CANCEL goes upstream only with the last unsubscribe", async () => {
    await link(xpub, [subscriber], transport);
    subscriber.subscribe("A");
    expect(hex(await xpub.receive())).toBe(sub("A"));
    subscriber.subscribe("A");
    subscriber.unsubscribe("A");
    // Subscriptions from one connection arrive in order: had the first
    // unsubscribe gone upstream, it would show before this marker.
    subscriber.subscribe("marker");
    expect(hex(await xpub.receive())).toBe(sub("marker"));

    // One reference left: still receiving.
    await xpub.send("A1");
    expect(text(await subscriber.receive())).toEqual(["A1"]);

    subscriber.unsubscribe("A");
    expect(hex(await xpub.receive())).toBe(unsub("A"));
    // The publisher has applied the cancel: A is no longer sent, the marker topic still is.
    await xpub.send("A2");
    await xpub.send("marker-end");
    expect(text(await subscriber.receive())).toEqual(["marker-end"]);
  });

  it("ignores unsubscribing from a topic it never subscribed to", async () => {
    await link(xpub, [subscriber], transport);
    subscriber.unsubscribe("never");
    subscriber.subscribe("marker");
    expect(hex(await xpub.receive())).toBe(sub("marker"));
  });

  it("stops receiving a topic once unsubscribed, while keeping the others", async () => {
    await link(xpub, [subscriber], transport);
    subscriber.subscribe("A", "B");
    expect(hex(await xpub.receive())).toBe(sub("A"));
    expect(hex(await xpub.receive())).toBe(sub("B"));
    subscriber.unsubscribe("A");
    expect(hex(await xpub.receive())).toBe(unsub("A"));
    for (const topic of ["A1", "B1", "A2", "B2"]) await xpub.send(topic);
    expect(text(await subscriber.receive())).toEqual(["B1"]);
    expect(text(await subscriber.receive())).toEqual(["B2"]);
  });

  it("sends subscriptions made before connect() once connected", async () => {
    subscriber.subscribe("early");
    subscriber.subscribe("early");
    subscriber.subscribe("other");
    await link(xpub, [subscriber], transport);
    const received = new Set([hex(await xpub.receive()), hex(await xpub.receive())]);
    // Replayed once per topic, whatever its count.
    expect(received).toEqual(new Set([sub("early"), sub("other")]));
    await xpub.send("early bird");
    expect(text(await subscriber.receive())).toEqual(["early bird"]);
  });

  it("sends a subscription to every publisher it is connected to", async () => {
    const second = new XPublisher();
    try {
      await link(xpub, [subscriber], transport);
      await link(second, [subscriber], transport);
      subscriber.subscribe("both");
      expect(hex(await xpub.receive())).toBe(sub("both"));
      expect(hex(await second.receive())).toBe(sub("both"));
      await xpub.send("both:1");
      await second.send("both:2");
      const got = [text(await subscriber.receive())[0], text(await subscriber.receive())[0]];
      expect(got.sort()).toEqual(["both:1", "both:2"]);
    } finally {
      closeAll(second);
    }
  });
});

describe("SUB after close", () => {
  it("rejects subscribe(), unsubscribe() and receive() with EBADF", async () => {
    const subscriber = new Subscriber();
    subscriber.close();
    expect(() => subscriber.subscribe("x")).toThrow(expect.objectContaining({ code: "EBADF" }));
    expect(() => subscriber.unsubscribe("x")).toThrow(expect.objectContaining({ code: "EBADF" }));
    await expect(subscriber.receive()).rejects.toMatchObject({ code: "EBADF" });
  });
});

/** Connecting before the publisher exists: the subscription must reach it once it binds. */
describe.each(TRANSPORTS)("SUB connected before the PUB binds, over %s", (transport) => {
  let pub: Publisher | undefined;
  let subscriber: Subscriber;
  afterEach(() => closeAll(pub, subscriber));

  it("subscribes as soon as the publisher appears", async () => {
    const address = await freeAddress(transport);
    subscriber = new Subscriber({ reconnectInterval: 10 });
    subscriber.subscribe("late");
    subscriber.connect(address);
    pub = new Publisher();
    await pub.bind(address);
    const first = await untilReceived(subscriber.receive(), async () => {
      await pub!.send("skip");
      await pub!.send("late:1");
    });
    expect(text(first)).toEqual(["late:1"]);
  });
});

/**
 * A SUB that loses its publisher and finds a new one on the same address
 * resubscribes by itself. Only tcp and ipc reconnect: an inproc connection
 * ends with its binder, as in libzmq.
 */
describe.each(["tcp", "ipc"] as const)("SUB reconnecting over %s", (transport) => {
  let pubs: Publisher[];
  let subscriber: Subscriber;
  beforeEach(() => {
    pubs = [];
    subscriber = new Subscriber({ reconnectInterval: 10 });
  });
  afterEach(() => closeAll(subscriber, ...pubs));

  it("resubscribes to a publisher rebound on the same address", async () => {
    const first = new Publisher();
    pubs.push(first);
    const address = await link(first, [subscriber], transport);
    subscriber.subscribe("A", "B");
    expect(text(await untilReceived(subscriber.receive(), () => first.send("A:before")))).toEqual(["A:before"]);

    const dropped = nextEvent(subscriber, "disconnect");
    await first.unbind(address);
    first.close();
    await dropped;

    const second = new Publisher();
    pubs.push(second);
    const handshake = nextEvent(second, "handshake");
    await second.bind(address);
    await handshake;
    // Both topics are back, without the application doing anything.
    const got = await untilReceived(subscriber.receive(), async () => {
      await second.send("C:unwanted");
      await second.send("B:after");
    });
    expect(text(got)).toEqual(["B:after"]);
    await second.send("A:after");
    await second.send("B:end");
    const rest = (await receiveThrough(subscriber, "B:end")).map((m) => m[0]).filter((t) => t !== "B:after");
    expect(rest).toEqual(["A:after", "B:end"]);
  });
});
