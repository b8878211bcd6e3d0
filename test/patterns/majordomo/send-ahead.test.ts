/**
 * Clients that send ahead: an asynchronous client (the zguide's own async
 * Majordomo client does this) writes tens of thousands of requests before it
 * reads a single reply. With the broker's defaults every one of them must be
 * answered, and the broker's memory must stay within the documented bound.
 *
 * The broker runs in its own process (so its peak RSS is its own), the four
 * workers in four more, and the clients are bare DEALERs in this process
 * speaking MDP 0.1 and 0.2 client frames, so what is measured is the broker,
 * not a client library's flow control.
 */
import { readFileSync } from "node:fs";
import { Dealer } from "../../../src";
import { decodeClientCommand, encodeClientCommand, type MdpVersion } from "../../../patterns/majordomo/protocol";
import { MajordomoWorker } from "../../../patterns/majordomo";
import { nextBrokerEvents, startBroker, Tracker } from "./e2e";
import { compileChildren, NodePeers, removeCompiled } from "./node-peers";

jest.setTimeout(180000);

const b = (text: string) => Buffer.from(text);
const tracker = new Tracker();
let outDir: string;
let children: NodePeers;

beforeAll(async () => {
  outDir = await compileChildren();
  children = new NodePeers(outDir);
}, 120000);

afterAll(async () => {
  await removeCompiled(outDir);
});

afterEach(async () => {
  await tracker.closeAll();
  await children.killAll();
});

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now; VmHWM: the peak resident size so far). */
function procKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * A bare DEALER speaking MDP `version` as a client. Its routing id is fixed,
 * so the broker's events about it can be told apart. Replies are read only
 * when the test calls {@link receiveAll}; until then they wait in the socket.
 */
function rawClient(endpoint: string, version: MdpVersion, name: string) {
  // receiveTimeout: a reply missing for 60 s ends the count instead of hanging the test. It must be long:
  // timers run before I/O in each turn of the event loop, so after this process was busy for a while
  // (reading the other client's replies on a loaded machine) a short timeout fires before replies that
  // already arrived are read.
  const dealer = tracker.track(new Dealer({ linger: 0, routingId: b(name), receiveTimeout: 60000 }));
  // Connection events, to tell a lost connection from lost replies when a count falls short.
  const connection: string[] = [];
  dealer.events$.subscribe((event) => {
    if (event.type !== "connect" && event.type !== "handshake") connection.push(event.type);
  });
  dealer.connect(endpoint);
  return {
    key: b(name).toString("hex"),
    connection,
    request: (service: string, ...body: string[]) =>
      dealer.send(encodeClientCommand(version, { type: "request", service, body: body.map(b) })),
    next: async () => decodeClientCommand(await dealer.receive(), "reply").command,
    /** Reads replies until `count` arrived or none came for 60 s; returns them as [service, ...body] strings. */
    async receiveAll(count: number): Promise<string[][]> {
      const replies: string[][] = [];
      while (replies.length < count) {
        let frames: Buffer[];
        try {
          frames = await dealer.receive();
        } catch {
          break;
        }
        const { command } = decodeClientCommand(frames, "reply");
        replies.push([command.service, ...command.body.map(String)]);
      }
      return replies;
    },
  };
}

describe("clients that send 100,000 requests before reading any reply", () => {
  it("are answered in full by a broker with default options, whose memory stays bounded", async () => {
    const N = 100_000;
    const HB = 2500;
    const broker = children.broker({
      endpoint: "tcp://127.0.0.1:*",
      heartbeatInterval: HB,
      // Anything that loses or refuses a request is printed; per-request events would be 10^6 lines.
      events: [
        "worker-ready",
        "request-rejected",
        "request-expired",
        "request-abandoned",
        "worker-expired",
        "worker-disconnected",
      ],
    });
    const { endpoint } = await broker.waitForEvent("bound");
    // Two workers of each version, each in its own process, answering at once (no sleeping).
    // Every worker event but the per-request ones is printed: a worker that lost the broker or dropped a reply shows up.
    const quiet = [
      "ready",
      "reply-dropped",
      "handler-error",
      "broker-lost",
      "disconnect-received",
      "protocol-error",
    ] as const;
    const workers = (["0.1", "0.1", "0.2", "0.2"] as const).map((version) =>
      children.worker({ broker: endpoint!, service: "echo", heartbeatInterval: HB, workMs: 0, version, events: [...quiet] }),
    );
    await broker.waitForEvent("worker-ready", () => true, 30000, 3);
    const baseline = procKb(broker.pid, "VmRSS");

    const c01 = rawClient(endpoint!, "0.1", "client-0.1");
    const c02 = rawClient(endpoint!, "0.2", "client-0.2");
    const started = Date.now();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < N; i++) {
      sends.push(c01.request("echo", `a${i}`), c02.request("echo", `b${i}`));
    }
    // Asked on the 0.2 client's own connection, so the broker answers it only after taking all 100,000 of its requests.
    sends.push(c02.request("mmi.services"));
    await Promise.all(sends);
    const sentMs = Date.now() - started;

    const [replies01, replies02] = await Promise.all([c01.receiveAll(N), c02.receiveAll(N + 1)]);
    const doneMs = Date.now() - started;
    const peak = procKb(broker.pid, "VmHWM");

    const probe = replies02.find(([service]) => service === "mmi.services");
    const echoed02 = replies02.filter(([service]) => service === "echo");
    // Nothing lost or refused a request, no connection dropped, and no worker lost the broker (checked
    // first: any of these would explain a shortfall).
    expect({ c01: c01.connection, c02: c02.connection }).toEqual({ c01: [], c02: [] });
    expect(broker.events().filter((e) => e.type !== "worker-ready" && e.type !== "bound")).toEqual([]);
    expect(workers.flatMap((w) => w.events()).filter((e) => e.type !== "ready")).toEqual([]);
    // Each reply is the request's body plus the worker's pid frame; every body exactly once.
    const bodies = (replies: string[][]) => new Set(replies.map(([, body]) => body));
    expect({ replies: replies01.length, distinct: bodies(replies01).size }).toEqual({ replies: N, distinct: N });
    expect({ replies: echoed02.length, distinct: bodies(echoed02).size }).toEqual({ replies: N, distinct: N });
    expect(bodies(replies01).has(`a${N - 1}`) && bodies(echoed02).has(`b${N - 1}`)).toBe(true);
    // Negative control for the old default: when the probe was answered the queue held far more than
    // 1,000 requests, so a bound of 1,000 (the old maxQueuedRequests) would have refused most of them.
    const queued = (JSON.parse(probe![1]!) as Array<{ name: string; queued: number }>).find((s) => s.name === "echo")!.queued;
    expect(queued).toBeGreaterThan(10_000);

    // The documented bound (docs/patterns/majordomo.md): at most 200,000 requests are queued at once, and
    // the broker's resident memory grows by less than 1.25 KB for each, 250 MB (measured: 146-157 MB).
    const growth = peak - baseline;
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    process.stdout.write(
      `send-ahead: 2 × ${N} requests sent in ${sentMs} ms, all answered after ${doneMs} ms; ` +
        `peak queue ${queued}; broker RSS ${mb(baseline)} MB before, peak ${mb(peak)} MB ` +
        `(+${mb(growth)} MB)\n`,
    );
    expect(growth).toBeLessThan(2 * N * 1.25 * 1024);
  });
});

describe("an explicit maxQueuedRequests (opt-in, lossy for MDP 0.1)", () => {
  it("rejects requests over the bound: 0.2 clients get a 503 error reply, 0.1 clients get nothing", async () => {
    const N = 3000;
    const BOUND = 1000;
    const { broker, endpoint } = await startBroker(tracker, { maxQueuedRequests: BOUND });
    const c01 = rawClient(endpoint, "0.1", "bounded-0.1");
    const c02 = rawClient(endpoint, "0.2", "bounded-0.2");
    // No worker yet: the queue fills to exactly the bound and everything after it is refused.
    const rejected = nextBrokerEvents(broker, "request-rejected", 2 * N - BOUND);
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < N; i++) sends.push(c01.request("echo", `a${i}`), c02.request("echo", `b${i}`));
    await Promise.all(sends);
    const refused = await rejected;
    expect(broker.services()).toEqual([{ name: "echo", workers: 0, idle: 0, queued: BOUND }]);
    const refused01 = refused.filter((e) => e.client === c01.key).length;
    const refused02 = refused.filter((e) => e.client === c02.key).length;
    expect(refused01 + refused02).toBe(2 * N - BOUND);

    const worker = tracker.track(new MajordomoWorker({ broker: endpoint, service: "echo" }));
    worker.serve(({ body }) => body);

    // The 0.2 client hears about every request: an echo or a 503.
    const all02 = await c02.receiveAll(N);
    const errors = all02.filter((reply) => reply[1] === "mdp.error");
    expect(all02).toHaveLength(N);
    expect(errors).toHaveLength(refused02);
    expect(new Set(errors.map((reply) => reply[2]))).toEqual(new Set(["503"]));

    // The 0.1 client gets its queued requests answered, and nothing at all for the refused ones: the
    // next thing it receives after them is the answer to a later MMI query.
    const answered01 = await c01.receiveAll(N - refused01);
    expect(answered01).toHaveLength(N - refused01);
    expect(answered01.every(([service, body]) => service === "echo" && body!.startsWith("a"))).toBe(true);
    await c01.request("mmi.service", "echo");
    expect(await c01.next()).toEqual({ type: "final", service: "mmi.service", body: [b("200")] });
  });
});

describe("replies the broker makes in one burst", () => {
  it("all reach a client: the broker's ROUTER does not drop replies past a send high-water mark by default", async () => {
    // MMI queries are answered as soon as they are read, so one TCP read of thousands of them makes thousands
    // of replies to one client in one turn, before any is written out. A ROUTER with the socket default
    // sendHighWaterMark (1000) drops the rest: this test then gets 1,000 of the 5,000 (checked by hand with
    // `socket: { sendHighWaterMark: 1000 }`).
    const N = 5000;
    const { endpoint } = await startBroker(tracker);
    const client = rawClient(endpoint, "0.2", "mmi-flood");
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < N; i++) sends.push(client.request("mmi.service", "echo"));
    await Promise.all(sends);
    const replies = await client.receiveAll(N);
    expect(replies).toHaveLength(N);
    expect(replies.every(([service, status]) => service === "mmi.service" && status === "404")).toBe(true);
  });
});
