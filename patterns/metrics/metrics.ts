import { createServer, type Server } from "node:http";
import { BehaviorSubject, type Observable, type Subscription } from "rxjs";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { PrivateerError } from "../../src";
import type { BrokerEvent, ServiceStatus } from "../majordomo";
import type { PirateQueueEvent } from "../pirate";
import type { BinaryStarEvent, BinaryStarState } from "../binary-star";

/** Which pattern a figure is about: the `pattern` label of every request metric. */
export type MetricsPattern = "majordomo" | "pirate";

/** What {@link PatternMetrics.observeBroker} needs of a broker: its events and its service table. */
export interface ObservableBroker {
  readonly events$: Observable<BrokerEvent>;
  /** Read at each scrape and snapshot: the per-service gauges (queue depth, idle workers) are not carried by events. */
  services(): ServiceStatus[];
}

/** What {@link PatternMetrics.observeQueue} needs of a Simple or Paranoid Pirate queue. */
export interface ObservableQueue {
  readonly events$: Observable<PirateQueueEvent>;
  readonly workerCount: number;
  readonly idleWorkerCount: number;
  readonly queuedRequestCount: number;
}

/** What {@link PatternMetrics.observeBinaryStar} needs of a Binary Star server (or a broker pair's). */
export interface ObservableBinaryStar {
  readonly events$: Observable<BinaryStarEvent>;
}

/** Per-service figures of a {@link MetricsSnapshot}; the Pirate queues report one service named "". */
export interface ServiceFigures {
  readonly requestsReceived: number;
  readonly repliesSent: number;
  readonly requeues: number;
  readonly expiries: number;
  readonly rejections: number;
  /** Requests a broker of a pair dropped when it stopped serving. */
  readonly dropped: number;
  /** Requests waiting for a worker now. */
  readonly queued: number;
  /** Workers registered now. */
  readonly workers: number;
  readonly idleWorkers: number;
}

/** The figures at one moment, as {@link PatternMetrics.metrics$} emits them. */
export interface MetricsSnapshot {
  /** `Date.now()` when it was taken. */
  readonly at: number;
  /** By pattern, then by service name. */
  readonly services: Readonly<Record<MetricsPattern, Readonly<Record<string, ServiceFigures>>>>;
  /** Workers the broker or queue dropped for silence. */
  readonly workersExpired: number;
  /** The Binary Star state, when a server is observed. */
  readonly binaryStarState?: BinaryStarState;
  /** Passive-to-active moves: how often this server took over from its peer. */
  readonly failovers: number;
}

/** Options of {@link PatternMetrics}. */
export interface PatternMetricsOptions {
  /** Where the metrics are registered. Default: a fresh registry, so two brokers in one process do not collide. */
  registry?: Registry;
  /** Prefix of every metric name. Default "privateer_". */
  prefix?: string;
  /** Upper bounds (seconds) of the request latency histogram's buckets. Default 0.5 ms to 10 s. */
  latencyBuckets?: number[];
}

/** A running metrics endpoint: {@link serveMetrics}. */
export interface MetricsServer {
  /** `http://host:port/metrics`, with the port resolved. */
  readonly url: string;
  /** Resolves once the server has closed; open scrape connections are cut, not waited for. */
  close(): Promise<void>;
}

interface Mutable {
  requestsReceived: number;
  repliesSent: number;
  requeues: number;
  expiries: number;
  rejections: number;
  dropped: number;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STATES: readonly BinaryStarState[] = ["primary", "backup", "active", "passive"];

/**
 * Prometheus metrics of the patterns, fed by their event streams: requests
 * received, replies sent, requeues, expiries, rejections, queue depth and
 * workers per service, request latency, and Binary Star state and
 * failovers. The same figures are also a stream of snapshots
 * ({@link metrics$}) for applications that embed a broker and keep their
 * own monitoring.
 *
 * Latency runs from the moment the broker or queue received a request to
 * the moment it sent the final reply, matched by the request's id.
 *
 * @example
 * ```ts
 * const metrics = new PatternMetrics();
 * metrics.observeBroker(broker);
 * const server = await serveMetrics(metrics.registry, "127.0.0.1:9464");
 * ```
 */
export class PatternMetrics {
  /** The prom-client registry holding every metric; serve it with {@link serveMetrics}. */
  readonly registry: Registry;
  /** A snapshot after every event that changed a figure; replays the latest one to a new subscriber. */
  readonly metrics$: Observable<MetricsSnapshot>;

  private readonly received: Counter<"pattern" | "service">;
  private readonly replies: Counter<"pattern" | "service">;
  private readonly requeued: Counter<"pattern" | "service">;
  private readonly expired: Counter<"pattern" | "service">;
  private readonly rejected: Counter<"pattern" | "service">;
  private readonly droppedCounter: Counter<"pattern" | "service">;
  private readonly workersExpiredCounter: Counter<"pattern">;
  private readonly latency: Histogram<"pattern" | "service">;
  private readonly failoverCounter: Counter;
  /** The Prometheus counter behind each per-service figure of the snapshots. */
  private readonly counterOf: Readonly<Record<keyof Mutable, Counter<"pattern" | "service">>>;
  private readonly counts = { majordomo: new Map<string, Mutable>(), pirate: new Map<string, Mutable>() };
  private readonly tables: Array<{ pattern: MetricsPattern; read: () => ServiceStatus[] }> = [];
  private readonly snapshots: BehaviorSubject<MetricsSnapshot>;
  private readonly subscriptions: Subscription[] = [];
  private workersExpired = 0;
  private failovers = 0;
  private state?: BinaryStarState;

  constructor(options: PatternMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const prefix = options.prefix ?? "privateer_";
    const registers = [this.registry];
    const requestLabels = ["pattern", "service"] as const;
    const counter = (name: string, help: string) =>
      new Counter({ name: `${prefix}${name}`, help, labelNames: requestLabels, registers });
    this.received = counter("requests_received_total", "Requests the broker or queue received (MMI requests included).");
    this.replies = counter("replies_sent_total", "Final replies the broker or queue sent to clients.");
    this.requeued = counter("requests_requeued_total", "Requests put back in the queue because the worker holding them left.");
    this.expired = counter("requests_expired_total", "Requests that waited longer than the broker's requestTimeout.");
    this.rejected = counter("requests_rejected_total", "Requests refused because the service queue was full.");
    this.droppedCounter = counter("requests_dropped_total", "Requests a broker of a pair dropped when it stopped serving.");
    this.workersExpiredCounter = new Counter({
      name: `${prefix}workers_expired_total`,
      help: "Workers dropped after missing heartbeats.",
      labelNames: ["pattern"],
      registers,
    });
    this.latency = new Histogram({
      name: `${prefix}request_duration_seconds`,
      help: "Time from receiving a request to sending its final reply.",
      labelNames: requestLabels,
      buckets: options.latencyBuckets ?? LATENCY_BUCKETS,
      registers,
    });
    // Read at scrape time from the broker's or queue's own table, so they are never stale.
    const gauge = (name: string, help: string, field: "queued" | "workers" | "idle") =>
      new Gauge({
        name: `${prefix}${name}`,
        help,
        labelNames: requestLabels,
        registers,
        collect: () => {
          const target = this.registry.getSingleMetric(`${prefix}${name}`) as Gauge<"pattern" | "service">;
          target.reset();
          for (const { pattern, read } of this.tables) {
            for (const status of read()) target.set({ pattern, service: status.name }, status[field]);
          }
        },
      });
    gauge("queue_depth", "Requests waiting for a worker, per service.", "queued");
    gauge("workers", "Workers registered, per service.", "workers");
    gauge("idle_workers", "Workers waiting for a request, per service.", "idle");
    new Gauge({
      name: `${prefix}binary_star_state`,
      help: "1 for the Binary Star state this server is in, 0 for the others.",
      labelNames: ["state"],
      registers,
      collect: () => {
        const target = this.registry.getSingleMetric(`${prefix}binary_star_state`) as Gauge<"state">;
        target.reset();
        if (this.state === undefined) return;
        for (const state of STATES) target.set({ state }, state === this.state ? 1 : 0);
      },
    });
    this.failoverCounter = new Counter({
      name: `${prefix}binary_star_failovers_total`,
      help: "Times this server went from passive to active (took over from its peer).",
      registers,
    });
    this.counterOf = {
      requestsReceived: this.received,
      repliesSent: this.replies,
      requeues: this.requeued,
      expiries: this.expired,
      rejections: this.rejected,
      dropped: this.droppedCounter,
    };
    this.snapshots = new BehaviorSubject<MetricsSnapshot>(this.snapshot());
    this.metrics$ = this.snapshots.asObservable();
  }

  /** Counts a Majordomo broker's requests and replies, and reads its service table at each scrape. */
  observeBroker(broker: ObservableBroker): Subscription {
    this.tables.push({ pattern: "majordomo", read: () => (brokerOpen(broker) ? broker.services() : []) });
    const started = new Map<string, number>();
    return this.follow(broker.events$, (event) => {
      if (!("trace" in event)) {
        if (event.type !== "worker-expired") return false;
        this.workerExpired("majordomo");
        return true;
      }
      const labels = { pattern: "majordomo" as const, service: event.service };
      const figures = this.figures("majordomo", event.service);
      switch (event.type) {
        case "request-queued":
          started.set(event.trace, performance.now());
          this.tally("requestsReceived", labels, figures);
          break;
        case "request-rejected":
          this.tally("requestsReceived", labels, figures);
          this.tally("rejections", labels, figures);
          break;
        case "request-requeued":
          this.tally("requeues", labels, figures);
          break;
        case "request-expired":
          started.delete(event.trace);
          this.tally("expiries", labels, figures);
          break;
        case "request-abandoned":
          started.delete(event.trace);
          break;
        case "reply-sent": {
          if (!event.final) return false;
          const since = started.get(event.trace);
          started.delete(event.trace);
          // MMI requests are answered by the broker itself, without being queued: received and answered at once.
          if (since === undefined && event.service.startsWith("mmi.")) {
            this.tally("requestsReceived", labels, figures);
          }
          this.replied(labels, figures, since);
          break;
        }
        case "request-dropped":
          // A broker of a pair that stops serving drops what it held; the client retries on the other broker.
          started.delete(event.trace);
          this.tally("dropped", labels, figures);
          break;
        default:
          return false;
      }
      return true;
    });
  }

  /** Counts a Simple or Paranoid Pirate queue's requests and replies; the service label is "". */
  observeQueue(queue: ObservableQueue): Subscription {
    this.tables.push({
      pattern: "pirate",
      read: () => [{ name: "", workers: queue.workerCount, idle: queue.idleWorkerCount, queued: queue.queuedRequestCount }],
    });
    const labels = { pattern: "pirate" as const, service: "" };
    const figures = this.figures("pirate", "");
    const started = new Map<number, number>();
    const arrived = (request: number) => {
      if (started.has(request)) return;
      started.set(request, performance.now());
      this.tally("requestsReceived", labels, figures);
    };
    return this.follow(queue.events$, (event) => {
      switch (event.type) {
        // A request is queued when no worker is idle, and dispatched at once otherwise: the first of the two is its arrival.
        case "request-queued":
        case "request-dispatched":
          arrived(event.request);
          break;
        case "request-dropped":
          this.tally("requestsReceived", labels, figures);
          this.tally("rejections", labels, figures);
          break;
        case "reply-forwarded": {
          const since = event.request === undefined ? undefined : started.get(event.request);
          if (event.request !== undefined) started.delete(event.request);
          this.replied(labels, figures, since);
          break;
        }
        case "worker-expired":
          // The request it held is lost until the client retries (as a new request).
          if (event.request !== undefined) started.delete(event.request);
          this.workerExpired("pirate");
          break;
        default:
          return false;
      }
      return true;
    });
  }

  /** Follows a Binary Star server's state, and counts its takeovers. */
  observeBinaryStar(server: ObservableBinaryStar): Subscription {
    return this.follow(server.events$, (event) => {
      if (event.type === "started") this.state = event.role;
      else if (event.type === "state-changed") {
        this.state = event.to;
        if (event.from === "passive" && event.to === "active") {
          this.failovers++;
          this.failoverCounter.inc();
        }
      } else return false;
      return true;
    });
  }

  /** The figures now. */
  snapshot(): MetricsSnapshot {
    const services = { majordomo: {}, pirate: {} } as Record<MetricsPattern, Record<string, ServiceFigures>>;
    for (const pattern of ["majordomo", "pirate"] as const) {
      const live = new Map<string, ServiceStatus>();
      for (const table of this.tables) if (table.pattern === pattern) for (const s of table.read()) live.set(s.name, s);
      const names = new Set([...this.counts[pattern].keys(), ...live.keys()]);
      for (const name of [...names].sort()) {
        const counted = this.counts[pattern].get(name) ?? zero();
        const status = live.get(name);
        services[pattern][name] = {
          ...counted,
          queued: status?.queued ?? 0,
          workers: status?.workers ?? 0,
          idleWorkers: status?.idle ?? 0,
        };
      }
    }
    return {
      at: Date.now(),
      services,
      workersExpired: this.workersExpired,
      ...(this.state === undefined ? {} : { binaryStarState: this.state }),
      failovers: this.failovers,
    };
  }

  /** Stops following every observed stream and completes {@link metrics$}; the registry keeps its last figures. */
  close(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    this.tables.length = 0;
    this.snapshots.complete();
  }

  private figures(pattern: MetricsPattern, service: string): Mutable {
    let figures = this.counts[pattern].get(service);
    if (figures === undefined) {
      figures = zero();
      this.counts[pattern].set(service, figures);
    }
    return figures;
  }

  /**
   * Subscribes to a component's events for as long as this object lives;
   * `count` returns false for an event that changed no figure, so that no
   * snapshot is published for it.
   */
  private follow<E>(events$: Observable<E>, count: (event: E) => boolean): Subscription {
    const subscription = events$.subscribe((event) => {
      if (count(event)) this.publish();
    });
    this.subscriptions.push(subscription);
    return subscription;
  }

  /** Counts one event twice: in its Prometheus counter and in the snapshot's figure of the same meaning. */
  private tally(figure: keyof Mutable, labels: { pattern: MetricsPattern; service: string }, figures: Mutable): void {
    this.counterOf[figure].inc(labels);
    figures[figure]++;
  }

  /** A final reply: counted, and timed from its request's arrival when that is known. */
  private replied(labels: { pattern: MetricsPattern; service: string }, figures: Mutable, since: number | undefined): void {
    this.tally("repliesSent", labels, figures);
    if (since !== undefined) this.latency.observe(labels, (performance.now() - since) / 1000);
  }

  private workerExpired(pattern: MetricsPattern): void {
    this.workersExpired++;
    this.workersExpiredCounter.inc({ pattern });
  }

  private publish(): void {
    if (!this.snapshots.closed) this.snapshots.next(this.snapshot());
  }
}

function zero(): Mutable {
  return { requestsReceived: 0, repliesSent: 0, requeues: 0, expiries: 0, rejections: 0, dropped: 0 };
}

/** A closed broker's table is empty; asking it must not throw during a late scrape. */
function brokerOpen(broker: ObservableBroker): boolean {
  return !(broker as { closed?: boolean }).closed;
}

/**
 * Serves `registry` as Prometheus text on `http://address/metrics`.
 * `address` is `host:port`; port 0 picks a free one (read it from `url`).
 * Only loopback hosts are accepted unless `allowRemote` is set: metrics
 * reveal service names and load.
 */
export async function serveMetrics(
  registry: Registry,
  address: string,
  options: { allowRemote?: boolean } = {},
): Promise<MetricsServer> {
  const { host, port } = parseAddress(address);
  if (!options.allowRemote && !isLoopback(host)) {
    throw new PrivateerError("EINVAL", `metrics address ${address} is not a loopback address (pass allowRemote to serve it)`);
  }
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const actualPort = typeof bound === "object" && bound !== null ? bound.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actualPort}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Splits `host:port` (`[::1]:9464` for IPv6); a bare port means 127.0.0.1. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address) ?? /^()()(\d+)$/.exec(address);
  if (match === null) throw new PrivateerError("EINVAL", `metrics address must be host:port, got "${address}"`);
  const host = match[1] || match[2] || "127.0.0.1";
  const port = Number(match[3]);
  if (port > 65535) throw new PrivateerError("EINVAL", `metrics port out of range: ${port}`);
  return { host, port };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
