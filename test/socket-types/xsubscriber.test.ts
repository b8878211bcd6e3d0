import type { Subscription } from "rxjs";
import { Publisher, Subscriber, XPublisher, XSubscriber } from "../../src";
import { closeAll, link, text, TRANSPORTS } from "../helpers/endpoints";
import { untilReceived } from "../socket/support";

const hex = (message: Buffer[]): string => message[0]!.toString("hex");
const subscribe = (topic: string): Buffer => Buffer.concat([Buffer.from([1]), Buffer.from(topic)]);
const unsubscribe = (topic: string): Buffer => Buffer.concat([Buffer.from([0]), Buffer.from(topic)]);

describe.each(TRANSPORTS)("XSUB over %s", (transport) => {
  let xpub: XPublisher;
  let xsub: XSubscriber;

  beforeEach(() => {
    xpub = new XPublisher();
    xsub = new XSubscriber();
  });
  afterEach(() => closeAll(xpub, xsub));

  it("subscribes upstream with a 0x01topic message and unsubscribes with 0x00topic", async () => {
    await link(xpub, [xsub], transport);
    await xsub.send(subscribe("A"));
    expect(hex(await xpub.receive())).toBe(subscribe("A").toString("hex"));

    await xpub.send("B:no");
    await xpub.send("A:yes");
    expect(text(await xsub.receive())).toEqual(["A:yes"]);

    await xsub.send(unsubscribe("A"));
    expect(hex(await xpub.receive())).toBe(unsubscribe("A").toString("hex"));
    await xsub.send(subscribe("C"));
    expect(hex(await xpub.receive())).toBe(subscribe("C").toString("hex"));
    await xpub.send("A:gone");
    await xpub.send("C:1");
    expect(text(await xsub.receive())).toEqual(["C:1"]);
  });

  it("counts subscriptions: forwards every subscribe, but only the last unsubscribe", async () => {
    xpub.verbosity = "allSubsUnsubs";
    await link(xpub, [xsub], transport);
    await xsub.send(subscribe("A"));
    await xsub.send(subscribe("A"));
    expect(hex(await xpub.receive())).toBe(subscribe("A").toString("hex"));
    expect(hex(await xpub.receive())).toBe(subscribe("A").toString("hex"));
    await xsub.send(unsubscribe("A"));
    await xsub.send(subscribe("marker"));
    expect(hex(await xpub.receive())).toBe(subscribe("marker").toString("hex"));
    await xsub.send(unsubscribe("A"));
    expect(hex(await xpub.receive())).toBe(unsubscribe("A").toString("hex"));
  });

  it("passes other messages upstream unchanged, multipart included", async () => {
    await link(xpub, [xsub], transport);
    await xsub.send("hello");
    await xsub.send(["multi", "", "part"]);
    expect(text(await xpub.receive())).toEqual(["hello"]);
    expect(text(await xpub.receive())).toEqual(["multi", "", "part"]);
    // Data subscribed nobody to anything: a new subscription is what arrives next.
    await xsub.send(subscribe("y"));
    expect(hex(await xpub.receive())).toBe(subscribe("y").toString("hex"));
    await xpub.send("hello");
    await xpub.send("y:1");
    expect(text(await xsub.receive())).toEqual(["y:1"]);
  });

  it("sends subscriptions made before connecting once connected", async () => {
    await xsub.send(subscribe("early"));
    await link(xpub, [xsub], transport);
    expect(hex(await xpub.receive())).toBe(subscribe("early").toString("hex"));
  });
});

/**
 * The proxy of the zguide's chapter 2: XSUB faces the publisher, XPUB faces
 * the subscribers, and two streams copy messages across. Subscriptions travel
 * up, data travels down. The upstream publisher is itself an XPUB so the test
 * sees the subscription arrive instead of guessing when it did.
 */
describe.each(TRANSPORTS)("XSUB/XPUB proxy over %s", (transport) => {
  let upstream: XPublisher;
  let frontend: XSubscriber;
  let backend: XPublisher;
  let downstream: Subscriber;
  let pipes: Subscription[];

  beforeEach(() => {
    upstream = new XPublisher();
    frontend = new XSubscriber();
    backend = new XPublisher();
    downstream = new Subscriber();
    pipes = [];
  });
  afterEach(() => {
    for (const pipe of pipes) pipe.unsubscribe();
    closeAll(upstream, frontend, backend, downstream);
  });

  it("carries subscriptions upstream and matching data downstream", async () => {
    await link(upstream, [frontend], transport);
    await link(backend, [downstream], transport);
    pipes.push(backend.messages$.subscribe((message) => void frontend.send(message)));
    pipes.push(frontend.messages$.subscribe((message) => void backend.send(message)));

    downstream.subscribe("weather.");
    expect(hex(await upstream.receive())).toBe(subscribe("weather.").toString("hex"));

    await upstream.send("news.1");
    await upstream.send(["weather.1", "sunny"]);
    expect(text(await downstream.receive())).toEqual(["weather.1", "sunny"]);

    downstream.unsubscribe("weather.");
    expect(hex(await upstream.receive())).toBe(unsubscribe("weather.").toString("hex"));
  });

  it("serves a plain PUB upstream too", async () => {
    const pub = new Publisher();
    try {
      await link(pub, [frontend], transport);
      await link(backend, [downstream], transport);
      pipes.push(backend.messages$.subscribe((message) => void frontend.send(message)));
      pipes.push(frontend.messages$.subscribe((message) => void backend.send(message)));
      downstream.subscribe("t");
      const got = await untilReceived(downstream.receive(), async () => {
        await pub.send("u:no");
        await pub.send("t:yes");
      });
      expect(text(got)).toEqual(["t:yes"]);
    } finally {
      closeAll(pub);
    }
  });
});
