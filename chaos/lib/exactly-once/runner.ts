/**
 * Runs one exactly-once scenario (issue 9) on any {@link Launcher}: a Binary
 * Star pair of Majordomo brokers, workers that write a ledger row per
 * committed execution, clients with many requests in flight, and the
 * scenario's fault schedule applied by progress. Collects everything the
 * checker judges into a {@link RunRecord}. Knows nothing of processes or
 * containers: every node address is 127.0.0.1 (containers use host
 * networking) and every file lives in the run folder, which the nodes see at
 * `nodeRunDir` (the same path for processes; the bind mount's for containers).
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePorts } from "../cluster";
import { Random } from "../random";
import type { Launcher, NodeHandle, NodeSpec } from "./launcher";
import type { EoScenario, EoStep, EoTarget } from "./scenarios";
import type { ClientLine, FaultRecord, LedgerRow, RunRecord } from "./types";

/** The four TCP ports of the pair on 127.0.0.1. */
export interface EoPorts {
  /** Frontend (clients and workers) of the primary and of the backup. */
  readonly primary: number;
  readonly backup: number;
  /** State publishers of the primary and of the backup (each subscribes to the other's). */
  readonly primaryState: number;
  readonly backupState: number;
}

/** Timing of the nodes, in ms. The defaults suit a loaded two-core machine. */
export interface EoTiming {
  /** Broker-worker heartbeat; a worker silent for heartbeat × liveness is expired and its request requeued. */
  readonly heartbeatMs: number;
  readonly liveness: number;
  /** Binary Star heartbeat; the peer window is twice this. */
  readonly pairHeartbeatMs: number;
  readonly reconnectMs: number;
  /** The clients' per-attempt timeout (at least the pair window, so a retry can make the backup take over) and retries. */
  readonly clientTimeoutMs: number;
  readonly clientRetries: number;
}

export const DEFAULT_EO_TIMING: EoTiming = {
  heartbeatMs: 250,
  liveness: 3,
  // A 1 s peer window: a broker starved of CPU for half a second on a loaded machine must not fence itself.
  pairHeartbeatMs: 500,
  reconnectMs: 250,
  clientTimeoutMs: 2_000,
  // 30 attempts of 2 s: a minute, far beyond any fault of the schedules, so failed must stay 0.
  clientRetries: 30,
};

/** Options of {@link runEoScenario}. */
export interface EoRunOptions {
  /** Distinct request ids in all, split evenly over the clients (at least 10,000 in CI). */
  readonly requests: number;
  readonly store: "sqlite" | "postgres";
  /** A fresh folder for this run: client logs, the SQLite file. */
  readonly runDir: string;
  /** Where the nodes see `runDir` (a container's bind mount). Default: `runDir`. */
  readonly nodeRunDir?: string;
  /** PostgreSQL connection string, for store "postgres" (the ledger and the store's table are dropped first). */
  readonly pgUrl?: string;
  readonly seed: number;
  /** Default: four free ephemeral ports. */
  readonly ports?: EoPorts;
  /**
   * false starts the workers without the idempotency store (CHAOS_STORE=none:
   * ledger rows committed on a plain connection): the negative control, which
   * the checker must catch duplicating. SQLite only. Default true.
   */
  readonly idempotency?: boolean;
  /** Default 4, so that one killed still leaves 3. */
  readonly workers?: number;
  /** Default 2. */
  readonly clients?: number;
  /** Default 25 (two clients: 50 in flight). */
  readonly inFlightPerClient?: number;
  /** The handler's work per request. Default 1. */
  readonly workMs?: number;
  readonly timing?: Partial<EoTiming>;
  /** How long the clients get to finish, from the first client's start. Default 180,000. */
  readonly deadlineMs?: number;
  /** Progress messages (the schedule as it runs). */
  readonly log?: (message: string) => void;
}

const SERVICE = "ledger";
const BROKERS = ["broker-primary", "broker-backup"] as const;
type BrokerName = (typeof BROKERS)[number];

/**
 * Runs `scenario` once and returns what happened. Every node is removed
 * before it returns or throws. Throws only when the cluster cannot be set up
 * (a node does not start, the pair never elects an active broker); a fault
 * the system does not recover from shows in the record (hung clients,
 * missing evidence), for the checker to judge.
 */
export async function runEoScenario(launcher: Launcher, scenario: EoScenario, options: EoRunOptions): Promise<RunRecord> {
  const run = new EoRun(launcher, scenario, options);
  try {
    return await run.execute();
  } finally {
    await launcher.removeAll();
  }
}

class EoRun {
  private readonly timing: EoTiming;
  private readonly workers: number;
  private readonly clients: number;
  private readonly inFlight: number;
  private readonly nodeDir: string;
  private readonly log: (message: string) => void;
  /** Every node started, killed ones included (their lines count too), by name. */
  private readonly handles: NodeHandle[] = [];
  private readonly live = new Map<string, NodeHandle>();
  private readonly specs = new Map<string, NodeSpec>();
  private readonly incarnations = new Map<string, number>();
  private readonly faults: FaultRecord[] = [];
  private readonly progress: AckCounter;
  private lastKilled: { broker?: string; client?: string } = {};
  private lastPaused?: string;
  /** The event counts just before the latest fault, the baseline of the await-event steps after it. */
  private beforeFault?: Record<string, number>;
  private ports!: EoPorts;

  constructor(
    private readonly launcher: Launcher,
    private readonly scenario: EoScenario,
    private readonly options: EoRunOptions,
  ) {
    this.timing = { ...DEFAULT_EO_TIMING, ...options.timing };
    this.workers = options.workers ?? 4;
    this.clients = options.clients ?? 2;
    this.inFlight = options.inFlightPerClient ?? 25;
    this.nodeDir = options.nodeRunDir ?? options.runDir;
    this.log = options.log ?? (() => undefined);
    if (options.store === "postgres" && options.pgUrl === undefined) throw new Error("store postgres needs pgUrl");
    if (options.idempotency === false && options.store !== "sqlite") throw new Error("the control without a store runs on SQLite");
    this.progress = new AckCounter(this.clientNames().map((name) => this.logPath(name)));
  }

  async execute(): Promise<RunRecord> {
    mkdirSync(this.options.runDir, { recursive: true });
    for (const name of this.clientNames()) rmSync(this.logPath(name), { force: true });
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(this.options.runDir, `eo.db${suffix}`), { force: true });
    if (this.options.store === "postgres") await resetPostgres(this.options.pgUrl!);
    this.ports = this.options.ports ?? (await pickPorts());

    await Promise.all(BROKERS.map((name) => this.start(this.brokerSpec(name))));
    await this.until(() => this.activeBroker() !== undefined, 20_000, "the pair to elect an active broker");
    this.log(`${this.scenario.name}: pair up, ${this.activeBroker()} active`);
    // Workers and clients all at once (starting a node takes a second or more on a loaded machine): each worker
    // creates the ledger table if missing, SQLite's busy timeout (PostgreSQL's retry) sorts that out, and requests
    // sent before the first worker is ready wait in the broker's queue.
    const startedAt = Date.now();
    const deadline = startedAt + (this.options.deadlineMs ?? 180_000);
    await Promise.all([
      ...Array.from({ length: this.workers }, (_, i) => this.start(this.workerSpec(`worker-${i + 1}`))),
      ...this.clientNames().map((name) => this.start(this.clientSpec(name))),
    ]);
    this.log(`${this.scenario.name}: ${this.workers} workers and ${this.clients} clients ready`);

    const random = new Random(this.options.seed);
    const steps = this.scenario.schedule(random, { workers: this.workers, clients: this.clients });
    for (const step of steps) {
      if (Date.now() >= deadline) break;
      await this.apply(step, deadline);
    }

    const hungClients = await this.awaitClients(deadline);
    const endedAt = Date.now();
    this.log(`${this.scenario.name}: clients ${hungClients.length === 0 ? "done" : `hung: ${hungClients.join(", ")}`}`);
    this.writeNodeLogs();
    // The nodes go before the ledger is read: no worker may still be writing, and SQLite's WAL is then quiet.
    await this.launcher.removeAll();
    this.live.clear();
    return {
      scenario: this.scenario.name,
      seed: this.options.seed,
      launcher: this.launcher.kind,
      store: this.options.store,
      requests: this.perClient() * this.clients,
      inFlightPerClient: this.inFlight,
      clients: this.clientNames(),
      workers: Array.from({ length: this.workers }, (_, i) => `worker-${i + 1}`),
      clientLines: this.clientNames().flatMap((name) => readClientLines(this.logPath(name))),
      ledger: await this.readLedger(),
      faults: this.faults,
      startedAt,
      endedAt,
      hungClients,
      nodeEvents: this.countEvents(),
    };
  }

  private async apply(step: EoStep, deadline: number): Promise<void> {
    switch (step.kind) {
      case "await-acks": {
        const target = Math.ceil(step.fraction * this.perClient() * this.clients);
        this.log(`${this.scenario.name}: waiting for ${target} acks`);
        await this.until(() => this.progress.acks() >= target || this.clientsDone(), deadline - Date.now(), `${target} acks`, false);
        return;
      }
      case "await-event": {
        // Counted from just before the preceding fault: a container's kill returns only once the engine saw it
        // exit, and the event it provoked (a requeue, a takeover) has often been printed by then.
        const before = (this.beforeFault ?? this.countEvents())[step.type] ?? 0;
        const want = before + (step.count ?? 1);
        // Once the clients are done nothing more will happen: waiting on would only stretch the run.
        const met = await this.until(
          () => (this.countEvents()[step.type] ?? 0) >= want || this.clientsDone(),
          Math.min(step.timeoutMs, deadline - Date.now()),
          step.type,
          false,
        );
        this.log(`${this.scenario.name}: ${met ? "saw" : "gave up waiting for"} ${step.type}`);
        return;
      }
      case "sleep":
        await sleep(step.ms);
        return;
      case "fault":
        this.beforeFault = this.countEvents();
        await this.fault(step.fault, step.target);
        return;
    }
  }

  private async fault(kind: FaultRecord["kind"], target: EoTarget): Promise<void> {
    const name = this.resolve(target);
    if (name === undefined) {
      this.log(`${this.scenario.name}: no node for ${target}, ${kind} skipped`);
      return;
    }
    let detail: string | undefined;
    switch (kind) {
      case "kill-worker":
      case "kill-broker":
      case "kill-client": {
        const handle = this.live.get(name);
        if (!handle) return;
        if (kind === "kill-broker") {
          detail = `${this.brokerState(name)} when killed`;
          this.lastKilled.broker = name;
        }
        // "Mid-request" made sure: frozen at a moment it had written its row and not yet replied, then killed.
        if (kind === "kill-worker") detail = await this.freezeMidRequest(handle);
        if (kind === "kill-client") {
          detail = `after ${this.progress.acksOf(this.logPath(name))} acks of its own`;
          // Then the kill hit nothing: the schedule came too late for this run's speed, and the report says so.
          if (this.exitedClients.has(name)) detail += ", when it had already finished";
          this.lastKilled.client = name;
        }
        await handle.kill();
        this.live.delete(name);
        break;
      }
      case "pause-worker":
      case "pause-broker": {
        const handle = this.live.get(name);
        if (!handle) return;
        if (kind === "pause-broker") {
          detail = `${this.brokerState(name)} when paused`;
          await handle.pause();
        } else {
          detail = await this.freezeMidRequest(handle);
        }
        this.lastPaused = name;
        break;
      }
      case "resume-worker":
      case "resume-broker":
        await this.live.get(name)?.resume();
        break;
      case "restart-broker": {
        await this.start(this.specs.get(name)!);
        // Done once it has heard its peer and settled: the schedule's next fault must not race its first state.
        const settled = await this.until(() => ["active", "passive"].includes(this.brokerState(name)), 20_000, "state", false);
        detail = settled ? `came back ${this.brokerState(name)}` : `still ${this.brokerState(name)} after 20 s`;
        break;
      }
      case "restart-client": {
        const incarnation = (this.incarnations.get(name) ?? 1) + 1;
        await this.start(this.clientSpec(name, incarnation));
        detail = `incarnation ${incarnation}`;
        break;
      }
    }
    // Recorded once the signal was delivered (or the node restarted).
    this.faults.push({ kind, target: name, at: Date.now(), ...(detail === undefined ? {} : { detail }) });
    this.log(`${this.scenario.name}: ${kind} ${name}${detail ? ` (${detail})` : ""}`);
  }

  /**
   * Pauses a worker at a moment it is in the middle of a request: its ledger
   * row written (committed or not) and its reply not yet sent, as its last
   * `BEGIN`/`END` line says once it is frozen. Between requests, it is thawed
   * and tried again a little later, up to 50 times. Leaves it paused; returns
   * the fault's detail.
   */
  private async freezeMidRequest(handle: NodeHandle): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      await handle.pause();
      // What it printed before the stop is on its way (a process's pipe at once, a container's log stream a little
      // later): read on until its output stays the same for 100 ms.
      for (let settled = 0, seen = -1; settled < 10 && handle.lines().length !== seen; settled++) {
        seen = handle.lines().length;
        await sleep(100);
      }
      const last = lastTrace(handle.lines());
      if (last?.startsWith("BEGIN ")) return `mid-request: ${last.slice("BEGIN ".length)} (attempt ${attempt})`;
      if (attempt >= 50) return `not seen mid-request in ${attempt} attempts (last: ${last ?? "nothing"})`;
      await handle.resume();
      await sleep(10 + attempt * 5);
    }
  }

  private resolve(target: EoTarget): string | undefined {
    switch (target) {
      case "active-broker":
        return this.activeBroker();
      case "last-killed-broker":
        return this.lastKilled.broker;
      case "last-killed-client":
        return this.lastKilled.client;
      case "last-paused":
        return this.lastPaused;
      default:
        return target;
    }
  }

  private async start(spec: NodeSpec): Promise<NodeHandle> {
    this.specs.set(spec.name, spec);
    const handle = await this.launcher.start(spec);
    this.handles.push(handle);
    this.live.set(spec.name, handle);
    if (spec.script === "eo-client.js") this.watchClient(spec.name, handle, this.incarnations.get(spec.name) ?? 1);
    return handle;
  }

  private async awaitClients(deadline: number): Promise<string[]> {
    await this.until(() => this.clientsDone(), deadline - Date.now(), "the clients to finish", false);
    return this.clientNames().filter((name) => this.live.has(name) && !this.exitedClients.has(name));
  }

  private readonly exitedClients = new Set<string>();

  private clientsDone(): boolean {
    return this.clientNames().every((name) => this.exitedClients.has(name));
  }

  /** The broker's pair state as it last printed it (its role until the first change). */
  private brokerState(name: string): string {
    const handle = this.live.get(name);
    if (!handle) return "dead";
    let state: string = name === "broker-primary" ? "primary" : "backup";
    for (const line of handle.lines()) {
      const event = parseEvent(line);
      if (event?.type === "pair-state" && typeof event.to === "string") state = event.to;
    }
    return state;
  }

  private activeBroker(): BrokerName | undefined {
    return BROKERS.find((name) => this.live.has(name) && this.brokerState(name) === "active");
  }

  /** Every node's stdout into `<runDir>/<name>.log` (incarnations after one another), for a post-mortem. */
  private writeNodeLogs(): void {
    const byName = new Map<string, string[]>();
    for (const handle of this.handles) byName.set(handle.name, [...(byName.get(handle.name) ?? []), ...handle.lines()]);
    for (const [name, lines] of byName) writeFileSync(join(this.options.runDir, `${name}.log`), lines.map((l) => `${l}\n`).join(""));
  }

  /**
   * Counts the JSON event lines of every node started, by type, plus
   * `replayed`: the broker's reply-cache answers (`reply-replayed`) and the
   * workers' store answers (`worker-reply-replayed`) together.
   */
  private countEvents(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const handle of this.handles) {
      for (const line of handle.lines()) {
        const type = parseEvent(line)?.type;
        if (typeof type === "string") counts[type] = (counts[type] ?? 0) + 1;
      }
    }
    // Derived: a resent request answered without running again, by either layer that remembers replies.
    counts.replayed = (counts["reply-replayed"] ?? 0) + (counts["worker-reply-replayed"] ?? 0);
    return counts;
  }

  /** Polls `done` every 50 ms for at most `ms`; throws on timeout when `required`, else resolves false. */
  private async until(done: () => boolean, ms: number, what: string, required = true): Promise<boolean> {
    const end = Date.now() + Math.max(0, ms);
    for (;;) {
      if (done()) return true;
      if (Date.now() >= end) {
        if (required) throw new Error(`${this.scenario.name}: no ${what} within ${ms} ms`);
        return false;
      }
      await sleep(50);
    }
  }

  private async readLedger(): Promise<LedgerRow[]> {
    if (this.options.store === "postgres") return readPostgresLedger(this.options.pgUrl!);
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(join(this.options.runDir, "eo.db"), { readonly: true, fileMustExist: true });
    try {
      return db.prepare("SELECT id, worker, at FROM ledger ORDER BY rowid").all() as LedgerRow[];
    } finally {
      db.close();
    }
  }

  private perClient(): number {
    return Math.ceil(this.options.requests / this.clients);
  }

  private clientNames(): string[] {
    return Array.from({ length: this.clients }, (_, i) => `client-${i + 1}`);
  }

  private logPath(client: string): string {
    return join(this.options.runDir, `${client}.jsonl`);
  }

  private endpoints(): string[] {
    return [`tcp://127.0.0.1:${this.ports.primary}`, `tcp://127.0.0.1:${this.ports.backup}`];
  }

  private brokerSpec(name: BrokerName): NodeSpec {
    const primary = name === "broker-primary";
    const [own, other] = primary
      ? [this.ports.primaryState, this.ports.backupState]
      : [this.ports.backupState, this.ports.primaryState];
    return {
      name,
      script: "eo-broker.js",
      env: {
        CHAOS_NAME: name,
        CHAOS_ROLE: primary ? "primary" : "backup",
        CHAOS_FRONTEND: `tcp://127.0.0.1:${primary ? this.ports.primary : this.ports.backup}`,
        CHAOS_STATE_PUB: `tcp://127.0.0.1:${own}`,
        CHAOS_STATE_SUB: `tcp://127.0.0.1:${other}`,
        CHAOS_HEARTBEAT_MS: String(this.timing.heartbeatMs),
        CHAOS_LIVENESS: String(this.timing.liveness),
        CHAOS_PAIR_HEARTBEAT_MS: String(this.timing.pairHeartbeatMs),
      },
    };
  }

  private workerSpec(name: string): NodeSpec {
    const store = this.options.idempotency === false ? "none" : this.options.store;
    return {
      name,
      script: "eo-worker.js",
      env: {
        CHAOS_NAME: name,
        CHAOS_BROKERS: this.endpoints().join(","),
        CHAOS_SERVICE: SERVICE,
        CHAOS_STORE: store,
        CHAOS_DB: join(this.nodeDir, "eo.db"),
        ...(this.options.pgUrl === undefined ? {} : { CHAOS_PG_URL: this.options.pgUrl }),
        CHAOS_WORK_MS: String(this.options.workMs ?? 1),
        CHAOS_HEARTBEAT_MS: String(this.timing.heartbeatMs),
        CHAOS_LIVENESS: String(this.timing.liveness),
        CHAOS_RECONNECT_MS: String(this.timing.reconnectMs),
      },
    };
  }

  private clientSpec(name: string, incarnation = 1): NodeSpec {
    this.incarnations.set(name, incarnation);
    this.exitedClients.delete(name);
    const spec: NodeSpec = {
      name,
      script: "eo-client.js",
      env: {
        CHAOS_NAME: name,
        CHAOS_INCARNATION: String(incarnation),
        CHAOS_COUNT: String(this.perClient()),
        CHAOS_IN_FLIGHT: String(this.inFlight),
        CHAOS_BROKERS: this.endpoints().join(","),
        CHAOS_SERVICE: SERVICE,
        CHAOS_TIMEOUT_MS: String(this.timing.clientTimeoutMs),
        CHAOS_RETRIES: String(this.timing.clientRetries),
        CHAOS_LOG: join(this.nodeDir, `${name}.jsonl`),
      },
    };
    return spec;
  }

  /** Notes when a client's current incarnation exits on its own (a killed one does not count as done). */
  private watchClient(name: string, handle: NodeHandle, incarnation: number): void {
    void handle.exited.then((code) => {
      if (code !== null && this.incarnations.get(name) === incarnation) this.exitedClients.add(name);
    });
  }
}

/** Reads the ok lines the clients append, incrementally (each poll reads only what is new). */
class AckCounter {
  private readonly files: Map<string, { offset: number; rest: string; acks: number }>;

  constructor(paths: readonly string[]) {
    this.files = new Map(paths.map((path) => [path, { offset: 0, rest: "", acks: 0 }]));
  }

  acks(): number {
    let total = 0;
    for (const path of this.files.keys()) total += this.acksOf(path);
    return total;
  }

  acksOf(path: string): number {
    const file = this.files.get(path);
    if (!file) return 0;
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return file.acks;
    }
    try {
      const buffer = Buffer.alloc(1 << 20);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, file.offset);
        if (read === 0) break;
        file.offset += read;
        const text = file.rest + buffer.subarray(0, read).toString("utf8");
        const lines = text.split("\n");
        file.rest = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith('{"type":"ok"')) file.acks += 1;
      }
    } finally {
      closeSync(fd);
    }
    return file.acks;
  }
}

function readClientLines(path: string): ClientLine[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines: ClientLine[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      lines.push(JSON.parse(line) as ClientLine);
    } catch {
      // A client killed mid-write leaves at most one torn line; it was never a settled outcome.
    }
  }
  return lines;
}

/** A worker's last `BEGIN <id>` or `END <id>` line (see chaos/nodes/eo-worker.ts). */
function lastTrace(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith("BEGIN ") || line.startsWith("END ")) return line;
  }
  return undefined;
}

function parseEvent(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function pickPorts(): Promise<EoPorts> {
  const [primary, backup, primaryState, backupState] = await freePorts(4);
  return { primary: primary!, backup: backup!, primaryState: primaryState!, backupState: backupState! };
}

async function withPg<T>(url: string, work: (client: import("pg").Client) => Promise<T>): Promise<T> {
  const { Client } = (await import("pg")).default;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function resetPostgres(url: string): Promise<void> {
  await withPg(url, (client) => client.query("DROP TABLE IF EXISTS ledger; DROP TABLE IF EXISTS privateer_idempotency"));
}

async function readPostgresLedger(url: string): Promise<LedgerRow[]> {
  return withPg(url, async (client) => {
    const result = await client.query<{ id: string; worker: string; at: string }>("SELECT id, worker, at FROM ledger ORDER BY at");
    return result.rows.map((row) => ({ id: row.id, worker: row.worker, at: Number(row.at) }));
  });
}
