import { Publisher, Subscriber, XPublisher } from "../../src";
import { closeAll, link, text, TRANSPORTS } from "../helpers/endpoints";
import { receiveThrough, untilReceived } from "../socket/support";

/**
 * PUB's side of RFC 29: prefix matching on the first frame, delivery to every
 * matching subscriber, whole multipart messages, and dropping (never waiting)
 * when a subscriber's queue is full (libzmq test_hwm_pubsub, default case).
 */
describe.each(TRANSPORTS)("PUB over %s", (transport) => {
  let pub: Publisher;
  let subs: Subscriber[];

  beforeEach(() => {
    pub = new Publisher();
    subs = [];
  });
  afterEach(() => closeAll(pub, ...subs));

  function subscriber(): Subscriber {
    const sub = new Subscriber();
    subs.push(sub);
    return sub;
  }

  /** A PUB never says when a subscription arrived: publish `topic`-prefixed probes until one gets through. */
  async function syncTopic(sub: Subscriber, topic: string): Promise<void> {
    const probe = `${topic}:probe`;
    await untilReceived(sub.receive(), () => pub.send(probe));
  }

  it("delivers only messages whose first frame starts with a subscribed prefix", async () => {
    const sub = subscriber();
    await link(pub, [sub], transport);
    sub.subscribe("A");

    // The subscription is in place once a matching message arrives; the non-matching one sent just before never may.
    const first = await untilReceived(sub.receive(), async () => {
      await pub.send("B:never");
      await pub.send("A:wanted");
    });
    expect(text(first)).toEqual(["A:wanted"]);

    for (const topic of ["B1", "A1", "C", "AB", "b", "", "A-end"]) await pub.send(topic);
    const rest = await receiveThrough(sub, "A-end");
    const real = rest.map((m) => m[0]).filter((t) => t !== "A:wanted");
    expect(real).toEqual(["A1", "AB", "A-end"]);
  });

  it("matches everything with the empty topic, including empty frames", async () => {
    const sub = subscriber();
    await link(pub, [sub], transport);
    sub.subscribe();
    await syncTopic(sub, "");

    for (const topic of ["x", "", "\u0000binary", "end"]) await pub.send(topic);
    const got = (await receiveThrough(sub, "end")).map((m) => m[0]).filter((t) => t !== ":probe");
    expect(got).toEqual(["x", "", "\u0000binary", "end"]);
  });

  it("honours several subscriptions on one subscriber", async () => {
    const sub = subscriber();
    await link(pub, [sub], transport);
    sub.subscribe("news.", "weather.");
    await syncTopic(sub, "news.");
    await syncTopic(sub, "weather.");

    for (const topic of ["sport.1", "news.1", "weather.1", "new", "weather", "news.end"]) await pub.send(topic);
    const got = (await receiveThrough(sub, "news.end")).map((m) => m[0]).filter((t) => !t!.endsWith(":probe"));
    expect(got).toEqual(["news.1", "weather.1", "news.end"]);
  });

  it("delivers each message to every matching subscriber and to no other", async () => {
    const a = subscriber();
    const b = subscriber();
    const all = subscriber();
    await link(pub, [a, b, all], transport);
    a.subscribe("A");
    b.subscribe("B");
    all.subscribe("");
    await syncTopic(a, "A");
    await syncTopic(b, "B");
    await syncTopic(all, "");

    for (const topic of ["A1", "B1", "C1", "A2", "B-end", "A-end", "end"]) await pub.send(topic);
    const real = (messages: string[][]) => messages.map((m) => m[0]!).filter((t) => !t.endsWith(":probe"));
    expect(real(await receiveThrough(a, "A-end"))).toEqual(["A1", "A2", "A-end"]);
    expect(real(await receiveThrough(b, "B-end"))).toEqual(["B1", "B-end"]);
    expect(real(await receiveThrough(all, "end"))).toEqual(["A1", "B1", "C1", "A2", "B-end", "A-end", "end"]);
  });

  it("filters multipart messages on the first frame only and delivers them whole", async () => {
    const sub = subscriber();
    await link(pub, [sub], transport);
    sub.subscribe("A");
    await syncTopic(sub, "A");

    await pub.send(["B", "A-in-second-frame"]);
    await pub.send(["A", "x", "", "y"]);
    await pub.send("A-end");
    const got = (await receiveThrough(sub, "A-end")).filter((m) => m[0] !== "A:probe");
    expect(got).toEqual([["A", "x", "", "y"], ["A-end"]]);
  });

  it("drops messages for a subscriber whose queue is full instead of waiting", async () => {
    pub.sendHighWaterMark = 10;
    const sub = subscriber();
    sub.receiveHighWaterMark = 10;
    await link(pub, [sub], transport);
    sub.subscribe();
    await syncTopic(sub, "");
    // Read every probe, so the queues are empty before the burst.
    await pub.send("synced");
    await receiveThrough(sub, "synced");

    // One synchronous burst, as libzmq's test sends with DONTWAIT: nothing can
    // leave the pipe before it ends, so exactly the high-water mark survives.
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) sends.push(pub.send(`m${i}`));
    const settled = await Promise.allSettled(sends);
    expect(settled.every((s) => s.status === "fulfilled")).toBe(true);

    const got: string[] = [];
    for (let i = 0; i < 10; i++) got.push((await sub.receive())[0]!.toString());
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    // The queue has room again, so the next message goes through and is next in line: the rest were dropped.
    await pub.send("after");
    expect(text(await sub.receive())).toEqual(["after"]);
  });

  it("never waits when nobody is subscribed", async () => {
    const sub = subscriber();
    await link(pub, [sub], transport);
    const burst = Array.from({ length: 5000 }, (_, i) => pub.send(`unwanted ${i}`));
    // Five times the default high-water mark, and not one send had to wait.
    await expect(Promise.all(burst)).resolves.toHaveLength(5000);
  });

  it("matches binary topics byte for byte", async () => {
    // Subscriptions are byte prefixes: a topic containing zero bytes and high bytes matches exactly those bytes.
    const xpub = new XPublisher();
    const sub = subscriber();
    try {
      await link(xpub, [sub], transport);
      const topic = Buffer.from([0x00, 0xff, 0x10]);
      sub.subscribe(topic);
      const subscription = await xpub.receive();
      expect(subscription[0]).toEqual(Buffer.from([0x01, 0x00, 0xff, 0x10]));
      await xpub.send(Buffer.from([0x00, 0xff]));
      await xpub.send(Buffer.from([0x00, 0xff, 0x10, 0x99]));
      expect((await sub.receive())[0]).toEqual(Buffer.from([0x00, 0xff, 0x10, 0x99]));
    } finally {
      closeAll(xpub);
    }
  });
});
