import { Subscriber, XPublisher } from "../../src";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";
import { isPending } from "../socket/support";

const hex = (message: Buffer[]): string => message[0]!.toString("hex");
const sub = (topic: string): string => Buffer.concat([Buffer.from([1]), Buffer.from(topic)]).toString("hex");
const unsub = (topic: string): string => Buffer.concat([Buffer.from([0]), Buffer.from(topic)]).toString("hex");

// Lengths from libzmq's test_xpub_topic: the SUBSCRIBE command body is 9 + 1 + topic bytes,
// so these straddle the 255-byte limit of a short frame.
const SHORT_TOPIC = "ABCDEFGHIJKLMNOP".repeat(16).slice(0, 245);
const LONG_TOPIC = "ABCDEFGHIJKLMNOP".repeat(16).slice(0, 246);

describe.each(TRANSPORTS)("XPUB over %s", (transport) => {
  let xpub: XPublisher;
  let subs: Subscriber[];

  beforeEach(() => {
    xpub = new XPublisher();
    subs = [];
  });
  afterEach(() => closeAll(xpub, ...subs));

  function subscriber(): Subscriber {
    const socket = new Subscriber();
    subs.push(socket);
    return socket;
  }

  describe("subscription messages", () => {
    it("receives 0x01topic on subscribe and 0x00topic on the last unsubscribe", async () => {
      const s = subscriber();
      await link(xpub, [s], transport);
      s.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      s.unsubscribe("A");
      expect(hex(await xpub.receive())).toBe(unsub("A"));
      s.subscribe();
      expect(hex(await xpub.receive())).toBe(sub(""));
    });

    it.each([
      ["245", SHORT_TOPIC],
      ["246", LONG_TOPIC],
    ])("carries a %s-byte topic intact both ways", async (_length, topic) => {
      const s = subscriber();
      await link(xpub, [s], transport);
      s.subscribe(topic);
      const subscribed = await xpub.receive();
      expect(subscribed[0]!.length).toBe(topic.length + 1);
      expect(hex(subscribed)).toBe(sub(topic));
      s.unsubscribe(topic);
      expect(hex(await xpub.receive())).toBe(unsub(topic));
    });

    it("passes a duplicate subscription only once by default (same subscriber)", async () => {
      const s = subscriber();
      await link(xpub, [s], transport);
      s.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      s.subscribe("B");
      expect(hex(await xpub.receive())).toBe(sub("B"));
      s.subscribe("A");
      // The marker follows the duplicate on the same connection, so the duplicate was filtered out.
      s.subscribe("marker");
      expect(hex(await xpub.receive())).toBe(sub("marker"));
    });

    it("passes a duplicate subscription only once by default (two subscribers), and the unsubscribe only when the last goes", async () => {
      const s0 = subscriber();
      const s1 = subscriber();
      await link(xpub, [s0, s1], transport);
      s0.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      s1.subscribe("A");
      s1.subscribe("marker1");
      expect(hex(await xpub.receive())).toBe(sub("marker1"));

      s0.unsubscribe("A");
      s0.subscribe("marker0");
      // s1 still wants A: no unsubscribe is reported.
      expect(hex(await xpub.receive())).toBe(sub("marker0"));
      s1.unsubscribe("A");
      expect(hex(await xpub.receive())).toBe(unsub("A"));
    });

    it('passes every subscribe with verbosity "allSubs", but unsubscribes only for the last subscriber', async () => {
      xpub.verbosity = "allSubs";
      const s0 = subscriber();
      const s1 = subscriber();
      await link(xpub, [s0, s1], transport);
      s0.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      s0.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      s1.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));

      // Both keep receiving A.
      await xpub.send("A:data");
      expect(text(await s0.receive())).toEqual(["A:data"]);
      expect(text(await s1.receive())).toEqual(["A:data"]);

      s1.unsubscribe("A");
      s1.subscribe("marker1");
      expect(hex(await xpub.receive())).toBe(sub("marker1"));
    });

    it('passes every subscribe and unsubscribe that reaches it with verbosity "allSubsUnsubs"', async () => {
      xpub.verbosity = "allSubsUnsubs";
      const s0 = subscriber();
      const s1 = subscriber();
      await link(xpub, [s0, s1], transport);
      s0.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      s1.subscribe("A");
      expect(hex(await xpub.receive())).toBe(sub("A"));

      // s0 still wants A, yet s1's unsubscribe is reported.
      s1.unsubscribe("A");
      expect(hex(await xpub.receive())).toBe(unsub("A"));
      s0.unsubscribe("A");
      expect(hex(await xpub.receive())).toBe(unsub("A"));

      // The SUB itself counts: only its last unsubscribe leaves it, even here.
      s0.subscribe("B");
      expect(hex(await xpub.receive())).toBe(sub("B"));
      s0.subscribe("B");
      expect(hex(await xpub.receive())).toBe(sub("B"));
      s0.unsubscribe("B");
      s0.subscribe("marker");
      expect(hex(await xpub.receive())).toBe(sub("marker"));
      s0.unsubscribe("B");
      expect(hex(await xpub.receive())).toBe(unsub("B"));
      // Nor does a SUB send unsubscribes for topics it does not hold.
      s0.unsubscribe("B");
      s0.subscribe("marker2");
      expect(hex(await xpub.receive())).toBe(sub("marker2"));
    });

    it("reports the topics of a departing subscriber that nobody else holds as unsubscribes", async () => {
      const leaving = subscriber();
      const staying = subscriber();
      await link(xpub, [leaving, staying], transport);
      leaving.subscribe("A", "B");
      expect(hex(await xpub.receive())).toBe(sub("A"));
      expect(hex(await xpub.receive())).toBe(sub("B"));
      staying.subscribe("A");
      staying.subscribe("marker");
      expect(hex(await xpub.receive())).toBe(sub("marker"));

      leaving.close();
      expect(hex(await xpub.receive())).toBe(unsub("B"));
      // Nothing for A, which `staying` still holds: the next message is this marker.
      staying.subscribe("marker2");
      expect(hex(await xpub.receive())).toBe(sub("marker2"));

      await xpub.send("A:still");
      expect(text(await staying.receive())).toEqual(["A:still"]);
    });
  });

  describe("welcomeMessage", () => {
    it("sends the welcome message to a subscriber as it connects", async () => {
      xpub.welcomeMessage = "WELCOME";
      expect(xpub.welcomeMessage).toBe("WELCOME");
      const s = subscriber();
      s.subscribe("WELCOME");
      await link(xpub, [s], transport);
      expect(text(await s.receive())).toEqual(["WELCOME"]);
      expect(hex(await xpub.receive())).toBe(sub("WELCOME"));
    });

    it("is not sent when unset", async () => {
      expect(xpub.welcomeMessage).toBeNull();
      const s = subscriber();
      s.subscribe();
      await link(xpub, [s], transport);
      expect(hex(await xpub.receive())).toBe(sub(""));
      await xpub.send("first");
      expect(text(await s.receive())).toEqual(["first"]);
    });
  });

  describe("noDrop", () => {
    it("makes send wait for a full subscriber instead of dropping, and resume once it reads", async () => {
      const payload = Buffer.alloc(16 * 1024, 0x61);
      xpub.noDrop = true;
      xpub.sendHighWaterMark = 2;
      xpub.sendTimeout = 200;
      const s = subscriber();
      s.receiveHighWaterMark = 2;
      await link(xpub, [s], transport);
      s.subscribe();
      expect(hex(await xpub.receive())).toBe(sub(""));

      // The subscriber does not read; sooner or later every buffer is full and send gives up waiting.
      let sent = 0;
      let error: { code?: string } | undefined;
      while (sent < 100000) {
        try {
          await xpub.send([String(sent), payload]);
          sent++;
        } catch (failure) {
          error = failure as { code?: string };
          break;
        }
      }
      expect(error?.code).toBe("EAGAIN");
      expect(sent).toBeGreaterThanOrEqual(2);

      xpub.sendTimeout = -1;
      const waiting = xpub.send("last");
      expect(await isPending(waiting)).toBe(true);

      // Reading makes room: the waiting send completes, and nothing was dropped.
      for (let i = 0; i < sent; i++) {
        const message = await s.receive();
        expect(message[0]!.toString()).toBe(String(i));
        expect(message[1]!.equals(payload)).toBe(true);
      }
      await waiting;
      expect(text(await s.receive())).toEqual(["last"]);
    });

    it("waits only for subscribers the message is for", async () => {
      xpub.noDrop = true;
      xpub.sendHighWaterMark = 1;
      xpub.sendTimeout = 0;
      const slow = subscriber();
      const other = subscriber();
      slow.receiveHighWaterMark = 1;
      await link(xpub, [slow, other], transport);
      slow.subscribe("slow");
      other.subscribe("other");
      const subscribed = new Set([hex(await xpub.receive()), hex(await xpub.receive())]);
      expect(subscribed).toEqual(new Set([sub("slow"), sub("other")]));

      // Fill the slow subscriber until send refuses (sendTimeout 0: at once).
      let refused: { code?: string } | undefined;
      for (let i = 0; i < 100000 && !refused; i++) {
        await xpub.send(["slow", Buffer.alloc(16 * 1024)]).catch((e: { code?: string }) => (refused = e));
      }
      expect(refused?.code).toBe("EAGAIN");
      // A message nobody full is subscribed to still goes out.
      await xpub.send("other:1");
      expect(text(await other.receive())).toEqual(["other:1"]);
    });
  });
});

describe.each(TRANSPORTS)("XPUB welcome for a second subscriber over %s", (transport) => {
  const sockets: Array<XPublisher | Subscriber> = [];
  afterEach(() => closeAll(...sockets.splice(0)));

  it("greets every new subscriber, not just the first", async () => {
    const xpub = new XPublisher({ welcomeMessage: "hi" });
    const first = new Subscriber();
    const second = new Subscriber();
    sockets.push(xpub, first, second);
    first.subscribe("hi");
    second.subscribe("hi");
    const address = await link(xpub, [first], transport);
    expect(text(await first.receive())).toEqual(["hi"]);
    const handshake = nextEvent(xpub, "handshake");
    second.connect(address);
    await handshake;
    expect(text(await second.receive())).toEqual(["hi"]);
  });
});

/**
 * libzmq's test_mock_pub_sub: a hand-written ZMTP 3.1 SUB subscribes with
 * the SUBSCRIBE command and with the legacy `0x01` message; both reach the
 * XPUB, and published data reaches the raw peer as a plain frame. Needs a
 * byte stream, so tcp and ipc only.
 */
describe.each(["tcp", "ipc"] as const)("XPUB with a hand-written subscriber over %s", (transport) => {
  let xpub: XPublisher;
  let raw: RawPeer | undefined;
  beforeEach(() => {
    xpub = new XPublisher();
  });
  afterEach(() => {
    raw?.destroy();
    closeAll(xpub);
  });

  it.each([
    ["SUBSCRIBE command", zmtp.command("SUBSCRIBE", Buffer.from("A"))],
    ["legacy 0x01 message", zmtp.frame(0, Buffer.from([1, 0x41]))],
  ])("accepts a subscription sent as a %s", async (_how, subscription) => {
    await xpub.bind(bindAddress(transport));
    const handshake = nextEvent(xpub, "handshake");
    raw = await RawPeer.connectAs(xpub.lastEndpoint!, { "Socket-Type": "SUB" });
    const peer = (await handshake).peer;
    expect(peer.socketType).toBe("SUB");
    raw.write(subscription);
    expect(hex(await xpub.receive())).toBe(sub("A"));

    await xpub.send("B:not for you");
    await xpub.send("ALOL");
    const frame = await raw.nextMessageFrame();
    expect(frame.flags).toBe(0);
    expect(frame.body.toString()).toBe("ALOL");
  });

  it("accepts a CANCEL command as an unsubscribe", async () => {
    await xpub.bind(bindAddress(transport));
    const handshake = nextEvent(xpub, "handshake");
    raw = await RawPeer.connectAs(xpub.lastEndpoint!, { "Socket-Type": "XSUB" });
    await handshake;
    raw.write(zmtp.command("SUBSCRIBE", Buffer.from("topic")));
    raw.write(zmtp.command("CANCEL", Buffer.from("topic")));
    expect(hex(await xpub.receive())).toBe(sub("topic"));
    expect(hex(await xpub.receive())).toBe(unsub("topic"));
    // Nobody subscribed now: a second subscription to a new topic is what comes next on the wire.
    await xpub.send("topic:gone");
    raw.write(zmtp.command("SUBSCRIBE", Buffer.from("z")));
    expect(hex(await xpub.receive())).toBe(sub("z"));
    await xpub.send("z:1");
    expect((await raw.nextMessageFrame()).body.toString()).toBe("z:1");
  });
});
