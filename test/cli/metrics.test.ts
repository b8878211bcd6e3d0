/**
 * PatternMetrics fed by scripted event streams: what each event counts,
 * the snapshot stream embedders read, and the HTTP endpoint. The CLI tests
 * (cli.test.ts) check the same figures against real brokers and queues.
 */
import { Subject } from "rxjs";
import type { BinaryStarEvent, BrokerEvent, PirateQueueEvent, ServiceStatus } from "privateer";
import { parseAddress, PatternMetrics, serveMetrics, type MetricsSnapshot } from "../../patterns/metrics";

function fakeBroker() {
  const events = new Subject<BrokerEvent>();
  let table: ServiceStatus[] = [];
  return {
    events,
    setTable: (t: ServiceStatus[]) => (table = t),
    broker: { events$: events.asObservable(), services: () => table },
  };
}

const ids = (request: number, service = "echo") => ({ request, client: "00aa", trace: `00aa:${request}`, service });

/** One sample's value in Prometheus text. */
function value(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("PatternMetrics.observeBroker", () => {
  it("counts each request once, final replies only, and times a request from queued to its final reply", async () => {
    const { events, setTable, broker } = fakeBroker();
    const metrics = new PatternMetrics();
    metrics.observeBroker(broker);
    events.next({ type: "request-queued", ...ids(1), queued: 1 });
    events.next({ type: "request-dispatched", ...ids(1), worker: "01", attempt: 1 });
    events.next({ type: "request-requeued", ...ids(1), worker: "01" });
    events.next({ type: "request-dispatched", ...ids(1), worker: "02", attempt: 2 });
    events.next({ type: "reply-sent", ...ids(1), final: false });
    events.next({ type: "reply-sent", ...ids(1), final: true });
    events.next({ type: "request-queued", ...ids(2), queued: 1 });
    events.next({ type: "request-expired", ...ids(2) });
    events.next({ type: "request-queued", ...ids(3), queued: 1 });
    events.next({ type: "request-abandoned", ...ids(3) });
    events.next({ type: "request-rejected", ...ids(4) });
    events.next({ type: "request-queued", ...ids(6), queued: 1 });
    events.next({ type: "request-dropped", ...ids(6), reason: "broker-passive" });
    // The broker answers MMI itself: no request-queued, only the reply.
    events.next({ type: "reply-sent", ...ids(5, "mmi.services"), final: true });
    events.next({ type: "worker-expired", worker: "01", service: "echo" });
    setTable([{ name: "echo", workers: 2, idle: 1, queued: 3 }]);

    const text = await metrics.registry.metrics();
    const echo = `{pattern="majordomo",service="echo"}`;
    expect(value(text, `privateer_requests_received_total${echo}`)).toBe(5);
    expect(value(text, `privateer_requests_dropped_total${echo}`)).toBe(1);
    expect(value(text, `privateer_replies_sent_total${echo}`)).toBe(1);
    expect(value(text, `privateer_requests_requeued_total${echo}`)).toBe(1);
    expect(value(text, `privateer_requests_expired_total${echo}`)).toBe(1);
    expect(value(text, `privateer_requests_rejected_total${echo}`)).toBe(1);
    expect(value(text, `privateer_request_duration_seconds_count${echo}`)).toBe(1);
    expect(value(text, `privateer_requests_received_total{pattern="majordomo",service="mmi.services"}`)).toBe(1);
    expect(value(text, `privateer_replies_sent_total{pattern="majordomo",service="mmi.services"}`)).toBe(1);
    // Read from the broker's table at scrape time.
    expect(value(text, `privateer_queue_depth${echo}`)).toBe(3);
    expect(value(text, `privateer_workers${echo}`)).toBe(2);
    expect(value(text, `privateer_idle_workers${echo}`)).toBe(1);
    expect(value(text, `privateer_workers_expired_total{pattern="majordomo"}`)).toBe(1);
    // A gauge follows the table down as well as up.
    setTable([]);
    expect(value(await metrics.registry.metrics(), `privateer_queue_depth${echo}`)).toBeUndefined();
    metrics.close();
  });

  it("streams a snapshot after each event that changed a figure, and completes on close()", () => {
    const { events, setTable, broker } = fakeBroker();
    const metrics = new PatternMetrics();
    metrics.observeBroker(broker);
    const seen: MetricsSnapshot[] = [];
    let completed = false;
    metrics.metrics$.subscribe({ next: (s) => seen.push(s), complete: () => (completed = true) });
    expect(seen).toHaveLength(1); // the current figures, replayed
    setTable([{ name: "echo", workers: 1, idle: 0, queued: 1 }]);
    events.next({ type: "request-queued", ...ids(1), queued: 1 });
    events.next({ type: "request-dispatched", ...ids(1), worker: "01", attempt: 1 }); // changes no figure
    events.next({ type: "reply-sent", ...ids(1), final: true });
    expect(seen).toHaveLength(3);
    expect(seen[1]!.services.majordomo.echo).toMatchObject({ requestsReceived: 1, repliesSent: 0, queued: 1, workers: 1 });
    expect(seen[2]!.services.majordomo.echo).toMatchObject({ requestsReceived: 1, repliesSent: 1 });
    metrics.close();
    expect(completed).toBe(true);
    events.next({ type: "request-queued", ...ids(2), queued: 1 });
    expect(seen).toHaveLength(3);
  });

  it("two instances in one process keep separate figures (each has its own registry)", async () => {
    const a = fakeBroker();
    const b = fakeBroker();
    const ma = new PatternMetrics();
    const mb = new PatternMetrics();
    ma.observeBroker(a.broker);
    mb.observeBroker(b.broker);
    a.events.next({ type: "request-queued", ...ids(1), queued: 1 });
    const line = `privateer_requests_received_total{pattern="majordomo",service="echo"}`;
    expect(value(await ma.registry.metrics(), line)).toBe(1);
    expect(value(await mb.registry.metrics(), line)).toBeUndefined();
  });
});

describe("PatternMetrics.observeQueue", () => {
  it("counts a request once whether it was queued first or dispatched at once, and a drop as a rejection", async () => {
    const events = new Subject<PirateQueueEvent>();
    const metrics = new PatternMetrics();
    metrics.observeQueue({ events$: events, workerCount: 2, idleWorkerCount: 0, queuedRequestCount: 1 });
    events.next({ type: "request-dispatched", request: 1, client: "c", worker: "w" });
    events.next({ type: "request-queued", request: 2, client: "c", queued: 1 });
    events.next({ type: "request-dispatched", request: 2, client: "c", worker: "w" });
    events.next({ type: "request-dropped", request: 3, client: "c", queued: 1 });
    events.next({ type: "reply-forwarded", request: 1, client: "c", worker: "w" });
    events.next({ type: "worker-expired", worker: "w", busy: true, request: 2 });
    const text = await metrics.registry.metrics();
    const labels = `{pattern="pirate",service=""}`;
    expect(value(text, `privateer_requests_received_total${labels}`)).toBe(3);
    expect(value(text, `privateer_replies_sent_total${labels}`)).toBe(1);
    expect(value(text, `privateer_requests_rejected_total${labels}`)).toBe(1);
    expect(value(text, `privateer_request_duration_seconds_count${labels}`)).toBe(1);
    expect(value(text, `privateer_workers${labels}`)).toBe(2);
    expect(value(text, `privateer_queue_depth${labels}`)).toBe(1);
    expect(value(text, `privateer_workers_expired_total{pattern="pirate"}`)).toBe(1);
  });
});

describe("PatternMetrics.observeBinaryStar", () => {
  it("shows the current state and counts passive-to-active moves only", async () => {
    const events = new Subject<BinaryStarEvent>();
    const metrics = new PatternMetrics();
    metrics.observeBinaryStar({ events$: events });
    expect(await metrics.registry.metrics()).not.toMatch(/^privateer_binary_star_state\{/m);
    const endpoints = { frontend: null, statePublisher: "a", stateSubscriber: "b" };
    events.next({ type: "started", role: "backup", endpoints });
    events.next({ type: "state-changed", from: "backup", to: "passive", cause: "peer-active", term: 1 });
    events.next({ type: "state-changed", from: "passive", to: "active", cause: "client-request", term: 2 });
    events.next({ type: "state-changed", from: "active", to: "passive", cause: "peer-active", term: 3 });
    events.next({ type: "state-changed", from: "passive", to: "active", cause: "client-request", term: 4 });
    const text = await metrics.registry.metrics();
    expect(value(text, `privateer_binary_star_state{state="active"}`)).toBe(1);
    expect(value(text, `privateer_binary_star_state{state="passive"}`)).toBe(0);
    expect(value(text, `privateer_binary_star_failovers_total`)).toBe(2);
    expect(metrics.snapshot()).toMatchObject({ binaryStarState: "active", failovers: 2 });
  });
});

describe("serveMetrics", () => {
  it("serves /metrics on loopback, 404 elsewhere, and refuses other hosts unless allowed", async () => {
    const metrics = new PatternMetrics();
    const server = await serveMetrics(metrics.registry, "127.0.0.1:0");
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await fetch(server.url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toContain("text/plain");
      expect(await ok.text()).toContain("# TYPE privateer_requests_received_total counter");
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
    await expect(serveMetrics(metrics.registry, "0.0.0.0:0")).rejects.toMatchObject({ code: "EINVAL" });
  });

  it("parses host:port, [v6]:port and a bare port", () => {
    expect(parseAddress("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseAddress("9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(() => parseAddress("localhost")).toThrow(/host:port/);
    expect(() => parseAddress("127.0.0.1:70000")).toThrow(/out of range/);
  });
});
