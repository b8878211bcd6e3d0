/**
 * Port of libzmq tests/test_xpub_manual.cpp: an XPUB with `manual` applies
 * no subscription by itself. The application receives every (un)subscription
 * and decides with subscribe()/unsubscribe(), which act on the subscriber
 * whose (un)subscription it received last. When a subscriber leaves, the
 * application receives an unsubscription for each topic that subscriber
 * still asked for (not for what the application substituted), one per
 * subscriber, so a proxy forwarding them upstream keeps its counts right.
 */
import { Publisher, Subscriber, XPublisher, XSubscriber } from "../../src";
import { bindAddress, closeAll, events, link, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import type { SocketBase } from "../../src";
import { nextTurn } from "./support";

const sub = (topic: string): Buffer => Buffer.from(`\x01${topic}`, "latin1");
const unsub = (topic: string): Buffer => Buffer.from(`\x00${topic}`, "latin1");

describe.each(TRANSPORTS)("test_xpub_manual over %s", (transport) => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));
  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }

  it("basic: the application substitutes B for the subscriber's A", async () => {
    const pub = track(new XPublisher({ manual: true }));
    const xsub = track(new XSubscriber());
    await link(pub, [xsub], transport);
    await xsub.send(sub("A"));
    expect(await pub.receive()).toEqual([sub("A")]);
    pub.subscribe("B");
    await pub.send("A");
    await pub.send("B");
    expect((await xsub.receive()).map(String)).toEqual(["B"]);
  });

  it("unsubscribe: each (un)subscription is answered for its own subscriber, and leaving reports what it still asked for", async () => {
    const pub = track(new XPublisher({ manual: true }));
    const xsub = track(new XSubscriber());
    await link(pub, [xsub], transport);
    await xsub.send(sub("A"));
    await xsub.send(sub("B"));

    expect(await pub.receive()).toEqual([sub("A")]);
    pub.subscribe("XA");
    expect(await pub.receive()).toEqual([sub("B")]);
    pub.subscribe("XB");

    await xsub.send(unsub("A"));
    expect(await pub.receive()).toEqual([unsub("A")]);
    pub.unsubscribe("XA");

    await pub.send("XA");
    await pub.send("XB");
    expect((await xsub.receive()).map(String)).toEqual(["XB"]);

    // The subscriber leaves still asking for B: the application hears "unsubscribe B", not "XB".
    xsub.close();
    expect(await pub.receive()).toEqual([unsub("B")]);
    pub.unsubscribe("XB");
  });

  it("unsubscribe cleanup: a departed subscriber's substitutes are gone; a new subscriber starts clean", async () => {
    const pub = track(new XPublisher({ manual: true }));
    let xsub = track(new XSubscriber());
    await link(pub, [xsub], transport);
    await xsub.send(sub("A"));
    expect(await pub.receive()).toEqual([sub("A")]);
    pub.subscribe("XA");
    await pub.send("XA");
    await pub.send("XB");
    await pub.send("XA-end");
    expect((await xsub.receive()).map(String)).toEqual(["XA"]);
    // XB was not for it: the next thing it gets is the marker.
    expect((await xsub.receive()).map(String)).toEqual(["XA-end"]);

    xsub.close();
    expect(await pub.receive()).toEqual([unsub("A")]);
    // Nobody is "last" any more: this does nothing, and must not throw.
    pub.unsubscribe("XA");

    xsub = track(new XSubscriber());
    const handshake = nextEvent(pub, "handshake");
    xsub.connect(pub.lastEndpoint!);
    await handshake;
    await xsub.send(sub("B"));
    expect(await pub.receive()).toEqual([sub("B")]);
    pub.subscribe("XB");
    await pub.send("XA");
    await pub.send("XB");
    expect((await xsub.receive()).map(String)).toEqual(["XB"]);
  });

  it("proxy: two subscribers to one topic that leave produce two unsubscriptions, so the upstream count returns to zero", async () => {
    const frontend = track(new XSubscriber());
    const backend = track(new XPublisher({ manual: true }));
    const publisher = track(new Publisher());
    await frontend.bind(bindAddress(transport));
    await backend.bind(bindAddress(transport));
    const upstream = nextEvent(frontend, "handshake");
    publisher.connect(frontend.lastEndpoint!);
    await upstream;

    /** What a manual proxy does with each (un)subscription: confirm it here, pass it upstream. */
    async function forward(expected: Buffer): Promise<void> {
      const [message] = await backend.receive();
      expect(message).toEqual(expected);
      const topic = message!.subarray(1);
      if (message![0] === 1) backend.subscribe(topic);
      else backend.unsubscribe(topic);
      await frontend.send(message!);
    }

    const sub1 = track(new Subscriber());
    const sub2 = track(new Subscriber());
    for (const s of [sub1, sub2]) {
      const joined = nextEvent(backend, "handshake");
      s.connect(backend.lastEndpoint!);
      await joined;
      s.subscribe("1");
      await forward(sub("1"));
    }

    // The publisher hears of the subscription through the proxy; publish until data flows end to end.
    const relayed = (async () => {
      const message = await frontend.receive();
      await backend.send(message);
      return message.map(String);
    })();
    let flowing = false;
    void relayed.then(() => (flowing = true));
    const first = sub1.receive();
    const second = sub2.receive();
    for (let i = 0; i < 500 && !flowing; i++) {
      await publisher.send(["1", "X"]);
      await nextTurn();
    }
    expect(await relayed).toEqual(["1", "X"]);
    expect((await first).map(String)).toEqual(["1", "X"]);
    expect((await second).map(String)).toEqual(["1", "X"]);

    const gone = events(backend, "disconnect", 2);
    sub1.close();
    sub2.close();
    await gone;
    await forward(unsub("1"));
    await forward(unsub("1"));
  });

  it("a user message (neither 0x00 nor 0x01) reaches the application unchanged", async () => {
    const pub = track(new XPublisher({ manual: true }));
    const xsub = track(new XSubscriber());
    await link(pub, [xsub], transport);
    await xsub.send(Buffer.from("\x02A\x00", "latin1"));
    expect(await pub.receive()).toEqual([Buffer.from("\x02A\x00", "latin1")]);
  });
});

describe("test_xpub_manual: subscribe() targets the subscriber whose subscription was received last", () => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));

  // Over inproc both subscriptions have certainly arrived before the first
  // receive() (delivery is a microtask), which is the case this is about: the
  // answer to the first must go to the first subscriber, not to whoever spoke last.
  it("applies each answer to the right subscriber when both subscriptions arrived before either was read", async () => {
    const pub = new XPublisher({ manual: true });
    const one = new XSubscriber();
    const two = new XSubscriber();
    sockets.push(pub, one, two);
    await link(pub, [one, two], "inproc");
    await one.send(sub("1"));
    await two.send(sub("2"));

    expect(await pub.receive()).toEqual([sub("1")]);
    pub.subscribe("1");
    expect(await pub.receive()).toEqual([sub("2")]);
    pub.subscribe("2");

    await pub.send("1");
    await pub.send("2");
    await pub.send("1-end");
    await pub.send("2-end");
    expect((await one.receive()).map(String)).toEqual(["1"]);
    expect((await one.receive()).map(String)).toEqual(["1-end"]);
    expect((await two.receive()).map(String)).toEqual(["2"]);
    expect((await two.receive()).map(String)).toEqual(["2-end"]);
  });
});
