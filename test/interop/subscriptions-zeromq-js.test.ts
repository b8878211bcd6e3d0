/**
 * Subscriptions from real libzmq SUB sockets (4.3.5 through zeromq.js) as a
 * Privateer XPUB counts them, over tcp and ipc. libzmq SUBs send
 * SUBSCRIBE/CANCEL commands (ZMTP 3.1); each SUB counts its own
 * subscriptions and cancels only with its last unsubscribe. The XPUB then
 * reports, per verbosity, what libzmq's XPUB would report:
 *
 *  - default: the first subscribe and the last unsubscribe of each topic;
 *  - "allSubs" (ZMQ_XPUB_VERBOSE): every subscribe, the last unsubscribe;
 *  - "allSubsUnsubs" (ZMQ_XPUB_VERBOSER): every subscribe and unsubscribe.
 *
 * Nothing announces that a message was *not* passed on, so each step ends
 * with a marker subscription from the same SUB: it travels the same
 * connection, so when the marker arrives, whatever came before it has too.
 */
import { rmSync } from "node:fs";
import * as zmq from "zeromq";
import { XPublisher } from "../../src";
import { bindAddress, closeAll, events } from "../helpers/endpoints";

const sub = (topic: string): Buffer => Buffer.from(`\x01${topic}`);
const unsub = (topic: string): Buffer => Buffer.from(`\x00${topic}`);

describe.each(["tcp", "ipc"] as const)("libzmq SUB subscriptions seen by a Privateer XPUB over %s", (transport) => {
  let xpub: XPublisher | undefined;
  let subs: zmq.Subscriber[] = [];
  let ipcFile: string | undefined;

  afterEach(() => {
    closeAll(xpub);
    for (const s of subs.splice(0)) {
      if (s.closed) continue;
      s.linger = 0;
      s.close();
    }
    if (ipcFile) rmSync(ipcFile, { force: true });
    ipcFile = undefined;
  });

  /** An XPUB with `verbosity` and two libzmq SUBs connected to it. */
  async function setUp(verbosity: null | "allSubs" | "allSubsUnsubs"): Promise<[XPublisher, zmq.Subscriber, zmq.Subscriber]> {
    xpub = new XPublisher({ verbosity });
    const address = bindAddress(transport);
    if (transport === "ipc") ipcFile = address.slice("ipc://".length);
    await xpub.bind(address);
    const joined = events(xpub, "handshake", 2);
    subs = [new zmq.Subscriber(), new zmq.Subscriber()];
    for (const s of subs) s.connect(xpub.lastEndpoint!);
    await joined;
    return [xpub, subs[0]!, subs[1]!];
  }

  /** Receives until `marker`, returning what came before it. */
  async function upTo(publisher: XPublisher, marker: Buffer): Promise<Buffer[]> {
    const seen: Buffer[] = [];
    for (;;) {
      const [frame] = await publisher.receive();
      if (frame!.equals(marker)) return seen;
      seen.push(frame!);
    }
  }

  type Verbosity = null | "allSubs" | "allSubsUnsubs";
  const CASES: Array<[Verbosity, Buffer[][]]> = [
    [null, [[sub("A")], [], [], [unsub("A")]]],
    ["allSubs", [[sub("A")], [sub("A")], [], [unsub("A")]]],
    ["allSubsUnsubs", [[sub("A")], [sub("A")], [unsub("A")], [unsub("A")]]],
  ];

  it.each(CASES)("verbosity %s: two SUBs subscribe to A, then leave it one by one", async (verbosity, expected) => {
    const [p, one, two] = await setUp(verbosity);
    // One SUB at a time: messages from two connections interleave in any order.
    one.subscribe("A");
    one.subscribe("m1");
    const afterSubscribes = [await upTo(p, sub("m1"))];
    two.subscribe("A");
    two.subscribe("m2");
    afterSubscribes.push(await upTo(p, sub("m2")));
    one.unsubscribe("A");
    one.subscribe("m3");
    const afterFirstLeaves = await upTo(p, sub("m3"));
    two.unsubscribe("A");
    two.subscribe("m4");
    const afterSecondLeaves = await upTo(p, sub("m4"));
    expect([...afterSubscribes, afterFirstLeaves, afterSecondLeaves]).toEqual(expected);
  });

  it("a libzmq SUB counts its own subscriptions: two subscribes reach the XPUB, the cancel only with the second unsubscribe", async () => {
    const [p, one] = await setUp("allSubsUnsubs");
    one.subscribe("B");
    one.subscribe("B");
    one.subscribe("m1");
    expect(await upTo(p, sub("m1"))).toEqual([sub("B"), sub("B")]);
    one.unsubscribe("B");
    one.subscribe("m2");
    expect(await upTo(p, sub("m2"))).toEqual([]);
    one.unsubscribe("B");
    one.subscribe("m3");
    expect(await upTo(p, sub("m3"))).toEqual([unsub("B")]);
  });

  it("reports the topics of a libzmq SUB that goes away as unsubscriptions", async () => {
    const [p, one] = await setUp(null);
    one.subscribe("C");
    one.subscribe("m1");
    expect(await upTo(p, sub("m1"))).toEqual([sub("C")]);
    one.linger = 0;
    one.close();
    const left = [(await p.receive())[0]!, (await p.receive())[0]!];
    expect(left.map((f) => f.toString("latin1")).sort()).toEqual([unsub("C"), unsub("m1")].map((f) => f.toString("latin1")).sort());
  });
});
