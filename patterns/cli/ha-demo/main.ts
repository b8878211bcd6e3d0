/**
 * `privateer demo` (and `npm start`): Majordomo on a Binary Star broker pair, under faults, with
 * exactly-once handling, each part in its own process on 127.0.0.1.
 *
 * Starts a broker pair, a pool of workers (sharing one SQLite exactly-once
 * store in a temporary folder) and clients keeping requests in flight. On a
 * timer it kills a worker mid-request (SIGKILL), kills the active broker,
 * restarts what died, and freezes and thaws a worker (SIGSTOP/SIGCONT).
 * At the end it checks every request against the workers' ledger (one row
 * per committed execution) and exits 1 if any was lost or executed twice.
 *
 *   privateer demo [--duration 30] [--workers 4] [--clients 8] [--no-faults] [--no-dedup]
 *
 * --no-dedup runs the workers without the exactly-once store (a negative
 * control: faults then make some requests run twice, and the run fails).
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { loadDriver } from "../../exactly-once/store";
import { exitCode, judge, summaryLines, type Verdict } from "./check";
import { LEDGER_DDL, type ChildMessage, type ParentMessage } from "./messages";

const CHILD = path.join(__dirname, "child.js");

/** What a run is made of (the command-line flags). */
export interface HaDemoSettings {
  /** Seconds of load, startup and the final drain not counted. */
  readonly duration: number;
  /** Worker processes (at least 2, so one can be killed while another serves). */
  readonly workers: number;
  /** Clients, each keeping one request in flight. */
  readonly clients: number;
  /** Inject the faults. */
  readonly faults: boolean;
  /** Handle requests through the exactly-once store; false is the negative control. */
  readonly dedup: boolean;
}

type Settings = HaDemoSettings;

/**
 * better-sqlite3 is an optional peer dependency: loaded when a run starts,
 * not when the CLI loads this module, so the other commands work without it.
 * Throws ExactlyOnceError "driver-missing" (naming the install command) if absent.
 */
function sqlite(): typeof BetterSqlite3 {
  return loadDriver<typeof BetterSqlite3>("better-sqlite3", "privateer demo");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type BrokerRole = "primary" | "backup";

interface WorkerSlot {
  readonly name: string;
  child?: ChildProcess;
  status: "starting" | "up" | "dead" | "frozen";
  /** Handler invocations (attempts), including ones later rolled back. */
  attempts: number;
  /** Ids in the worker's handler right now. */
  readonly busy: Set<string>;
}

class Demo {
  private readonly started = Date.now();
  private readonly sent = new Set<string>();
  private readonly answered = new Map<string, string>();
  private readonly failed = new Map<string, string>();
  private retried = 0;
  private replayed = 0;
  private readonly answeredAt: number[] = [];
  private readonly brokerState: Record<BrokerRole, string> = { primary: "starting", backup: "starting" };
  private readonly brokers: Partial<Record<BrokerRole, ChildProcess>> = {};
  private readonly workers: WorkerSlot[];
  private clients?: ChildProcess;
  private clientsDone?: () => void;
  /** Set by a fault that waits for the next request to start in a worker. */
  private onAttempt?: (slot: WorkerSlot, id: string) => void;
  private pendingLines: string[] = [];
  private drawn = 0;
  /** Faults injected; `failovers` counts a broker taking over as active after the startup. */
  readonly faultCounts = { workerKills: 0, brokerKills: 0, failovers: 0, freezes: 0, restarts: 0 };
  private serving = false;
  private readonly tty = Boolean(process.stdout.isTTY);
  private readonly folder = mkdtempSync(path.join(tmpdir(), "privateer-ha-demo-"));
  private readonly db = path.join(this.folder, "store.db");
  private endpoints!: { pf: string; pp: string; bf: string; bp: string };

  constructor(private readonly s: Settings) {
    this.workers = Array.from({ length: s.workers }, (_, i) => ({ name: `w${i + 1}`, status: "starting", attempts: 0, busy: new Set<string>() }));
  }

  private elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
  }

  /** A line of the log (faults, phases): printed above the live view. */
  private log(line: string): void {
    const text = `${this.elapsed()}  ${line}`;
    if (this.tty) this.pendingLines.push(text);
    else process.stdout.write(`${text}\n`);
  }

  private spawn(args: string[], onExit: (code: number | null, signal: NodeJS.Signals | null) => void): ChildProcess {
    const child = fork(CHILD, args, { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    child.on("message", (message: ChildMessage) => this.onMessage(message));
    child.once("exit", onExit);
    return child;
  }

  private startBroker(role: BrokerRole): void {
    const { pf, pp, bf, bp } = this.endpoints;
    const args = role === "primary" ? ["--frontend", pf, "--pub", pp, "--sub", bp] : ["--frontend", bf, "--pub", bp, "--sub", pp];
    this.brokerState[role] = "starting";
    this.brokers[role] = this.spawn(["broker", role, ...args], () => {
      this.brokerState[role] = "dead";
    });
  }

  private startWorker(slot: WorkerSlot): void {
    const { pf, bf } = this.endpoints;
    slot.status = "starting";
    slot.busy.clear();
    const args = ["worker", slot.name, "--primary", pf, "--backup", bf, "--db", this.db, ...(this.s.dedup ? [] : ["--no-dedup"])];
    const child = this.spawn(args, () => {
      if (slot.child === child) {
        slot.status = "dead";
        slot.busy.clear();
      }
    });
    slot.child = child;
  }

  private onMessage(message: ChildMessage): void {
    switch (message.type) {
      case "broker-state":
        this.brokerState[message.role] = message.state;
        if (message.state === "active" && this.serving) {
          this.faultCounts.failovers++;
          this.log(`${message.role} broker is now ACTIVE`);
        }
        return;
      case "worker-ready": {
        const slot = this.slot(message.worker);
        if (slot && slot.status === "starting") slot.status = "up";
        return;
      }
      case "attempt": {
        const slot = this.slot(message.worker);
        if (!slot) return;
        slot.attempts++;
        slot.busy.add(message.id);
        const fault = this.onAttempt;
        if (fault && slot.status === "up") {
          this.onAttempt = undefined;
          fault(slot, message.id);
        }
        return;
      }
      case "attempt-end":
        this.slot(message.worker)?.busy.delete(message.id);
        return;
      case "replayed":
        this.replayed++;
        return;
      case "sent":
        this.sent.add(message.id);
        return;
      case "answered":
        this.answered.set(message.id, message.replyId);
        this.answeredAt.push(Date.now());
        return;
      case "failed":
        this.failed.set(message.id, message.error);
        this.log(`request ${message.id} FAILED: ${message.error}`);
        return;
      case "retried":
        this.retried++;
        return;
      case "clients-done":
        this.clientsDone?.();
        return;
    }
  }

  private slot(name: string): WorkerSlot | undefined {
    return this.workers.find((w) => w.name === name);
  }

  // ---- faults -----------------------------------------------------------------

  /** Kills (SIGKILL) the next worker to start a request, while it is in its handler. */
  private async killWorkerMidRequest(): Promise<void> {
    // Leave at least one worker standing.
    while (this.workers.filter((w) => w.status === "up").length < 2) await sleep(50);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onAttempt = undefined;
        resolve();
      }, 3000);
      this.onAttempt = (slot, id) => {
        clearTimeout(timer);
        slot.child!.kill("SIGKILL");
        slot.status = "dead";
        this.faultCounts.workerKills++;
        this.log(`FAULT kill -9 worker ${slot.name} (pid ${slot.child!.pid}) in the middle of request ${id}`);
        resolve();
      };
    });
  }

  private killActiveBroker(): void {
    const active = (["primary", "backup"] as const).find((r) => this.brokerState[r] === "active");
    const other = active === "primary" ? "backup" : "primary";
    // Kill only when the other one can take over.
    if (!active || this.brokerState[other] !== "passive") return;
    this.brokers[active]!.kill("SIGKILL");
    this.brokerState[active] = "dead";
    this.faultCounts.brokerKills++;
    this.log(`FAULT kill -9 the active broker (${active}, pid ${this.brokers[active]!.pid}): the ${other} must take over`);
  }

  private restartDead(): void {
    for (const role of ["primary", "backup"] as const) {
      if (this.brokerState[role] === "dead") {
        this.faultCounts.restarts++;
        this.log(`restart the ${role} broker (it must come back passive)`);
        this.startBroker(role);
      }
    }
    for (const slot of this.workers) {
      if (slot.status === "dead") {
        this.faultCounts.restarts++;
        this.log(`restart worker ${slot.name}`);
        this.startWorker(slot);
      }
    }
  }

  /** Freezes (SIGSTOP) the next worker to start a request, for `ms`, then thaws it. */
  private async freezeWorker(ms: number): Promise<void> {
    const slot = await new Promise<WorkerSlot | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.onAttempt = undefined;
        resolve(undefined);
      }, 3000);
      this.onAttempt = (slot) => {
        clearTimeout(timer);
        resolve(slot);
      };
    });
    if (!slot) return;
    slot.child!.kill("SIGSTOP");
    slot.status = "frozen";
    this.faultCounts.freezes++;
    this.log(`FAULT freeze worker ${slot.name} (SIGSTOP) in the middle of a request, for ${ms} ms`);
    await sleep(ms);
    if (slot.status === "frozen") {
      slot.child!.kill("SIGCONT");
      slot.status = "up";
      this.log(`thaw worker ${slot.name} (SIGCONT)`);
    }
  }

  /** The fault schedule, repeated every 6 s until `until`; each step is skipped past the deadline. */
  private async faults(from: number, until: number): Promise<void> {
    const at = async (ms: number) => {
      await sleep(Math.max(0, ms - Date.now()));
      return Date.now() < until - 500;
    };
    for (let cycle = from; ; cycle += 6000) {
      if (!(await at(cycle))) return;
      await this.killWorkerMidRequest();
      if (!(await at(cycle + 1000))) return;
      this.restartDead();
      if (!(await at(cycle + 1500))) return;
      this.killActiveBroker();
      if (!(await at(cycle + 3500))) return;
      this.restartDead();
      if (!(await at(cycle + 4500))) return;
      await this.freezeWorker(Math.min(1500, Math.max(0, until - Date.now() - 200)));
    }
  }

  // ---- view ---------------------------------------------------------------------

  private statusLines(): string[] {
    const now = Date.now();
    while (this.answeredAt.length > 0 && this.answeredAt[0]! < now - 1000) this.answeredAt.shift();
    const inFlight = this.sent.size - this.answered.size - this.failed.size;
    const brokers = (["primary", "backup"] as const).map((r) => `${r} ${this.brokerState[r] === "active" ? "ACTIVE" : this.brokerState[r]}`).join(", ");
    const workers = this.workers
      .map((w) => `${w.name} ${String(w.attempts).padStart(4)}${w.status === "up" ? (w.busy.size > 0 ? " busy" : "     ") : ` ${w.status.toUpperCase()}`}`)
      .join("  ");
    const twice = this.executedTwiceSoFar();
    return [
      `${this.elapsed()}  ${String(this.answeredAt.length).padStart(4)} req/s  in flight ${String(inFlight).padStart(3)}  brokers: ${brokers}`,
      `        handled by: ${workers}`,
      `        answered ${this.answered.size}  retried ${this.retried}  replayed ${this.replayed}  failed ${this.failed.size}  executed twice ${twice}`,
    ];
  }

  private ledger?: BetterSqlite3.Database;

  /** Ids with more than one ledger row so far (read-only, beside the workers' writes: WAL lets it). */
  private executedTwiceSoFar(): number {
    try {
      this.ledger ??= new (sqlite())(this.db, { readonly: true, fileMustExist: true });
      const row = this.ledger.prepare("SELECT COUNT(*) AS n FROM (SELECT id FROM ledger GROUP BY id HAVING COUNT(*) > 1)").get() as { n: number };
      return row.n;
    } catch {
      return 0; // busy or not there yet: the final count is exact
    }
  }

  private draw(): void {
    if (!this.tty) {
      process.stdout.write(`${this.statusLines().join("\n").replace(/\n\s+/g, " | ")}\n`);
      return;
    }
    let out = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : "";
    for (const line of this.pendingLines) out += `${line}\n`;
    this.pendingLines = [];
    const lines = this.statusLines();
    out += lines.map((l) => `\x1b[7m${l.padEnd(process.stdout.columns ? Math.min(process.stdout.columns - 1, 120) : 0)}\x1b[0m`).join("\n") + "\n";
    this.drawn = lines.length;
    process.stdout.write(out);
  }

  // ---- run --------------------------------------------------------------------

  /** Ctrl-C: take the children down with us and remove the store's folder. */
  abort(): never {
    for (const child of [this.clients, ...this.workers.map((w) => w.child), this.brokers.primary, this.brokers.backup]) child?.kill("SIGKILL");
    this.ledger?.close();
    rmSync(this.folder, { recursive: true, force: true });
    process.stdout.write("\ninterrupted: no verdict\n");
    process.exit(130);
  }

  async run(): Promise<Verdict> {
    const [pf, pp, bf, bp] = (await Promise.all([freePort(), freePort(), freePort(), freePort()])).map((p) => `tcp://127.0.0.1:${p}`);
    this.endpoints = { pf: pf!, pp: pp!, bf: bf!, bp: bp! };
    const setup = new (sqlite())(this.db);
    setup.pragma("journal_mode = WAL");
    setup.exec(LEDGER_DDL);
    setup.close();
    const mode = this.s.dedup ? "exactly-once store (SQLite, shared)" : "NO DEDUP (negative control)";
    this.log(`broker pair, ${this.s.workers} workers [${mode}], ${this.s.clients} clients; ${this.s.duration} s, faults ${this.s.faults ? "on" : "off"}`);
    this.log(`store ${this.db}`);
    this.startBroker("primary");
    this.startBroker("backup");
    while (this.brokerState.primary !== "active" || this.brokerState.backup !== "passive") await sleep(20);
    this.serving = true;
    for (const slot of this.workers) this.startWorker(slot);
    // Clients start once the pool is up: requests queued behind a slow start would time out and be resent for nothing.
    for (const deadline = Date.now() + 10_000; this.workers.some((w) => w.status !== "up") && Date.now() < deadline; ) await sleep(20);
    const { pf: p, bf: b } = this.endpoints;
    this.clients = this.spawn(["clients", String(this.s.clients), "--primary", p, "--backup", b], () => this.clientsDone?.());
    const timer = setInterval(() => this.draw(), this.tty ? 250 : 1000);
    // The duration is the load phase: from the first request on, startup not counted.
    const until = Date.now() + this.s.duration * 1000;
    if (this.s.faults) void this.faults(Date.now() + 1000, until);
    await sleep(until - Date.now());
    // Let the requests in flight finish: thaw anything frozen, restart what is dead, stop the clients.
    this.onAttempt = undefined;
    for (const slot of this.workers) {
      if (slot.status === "frozen") {
        slot.child!.kill("SIGCONT");
        slot.status = "up";
      }
    }
    this.restartDead();
    this.log(`${this.s.duration} s of load: clients stop sending and finish the requests in flight`);
    const done = new Promise<boolean>((resolve) => {
      this.clientsDone = () => resolve(true);
      setTimeout(() => resolve(false), 30_000);
    });
    this.clients.send({ type: "stop" } satisfies ParentMessage);
    if (!(await done)) this.log("clients did not finish within 30 s: what is still in flight counts as lost");
    clearInterval(timer);
    this.draw();
    this.ledger?.close();
    for (const child of [this.clients, ...this.workers.map((w) => w.child), this.brokers.primary, this.brokers.backup]) child?.kill("SIGKILL");
    const executions = new Map<string, number>();
    const ledger = new (sqlite())(this.db, { readonly: true });
    for (const row of ledger.prepare("SELECT id, COUNT(*) AS n FROM ledger GROUP BY id").all() as Array<{ id: string; n: number }>) executions.set(row.id, row.n);
    ledger.close();
    rmSync(this.folder, { recursive: true, force: true });
    return judge({ sent: this.sent, answered: this.answered, failed: new Set(this.failed.keys()), executions });
  }

  summary(verdict: Verdict): string[] {
    const f = this.faultCounts;
    return [
      "",
      "---- summary ----",
      `faults: ${f.workerKills} worker kills, ${f.brokerKills} active broker kills, ${f.failovers} failovers, ${f.freezes} freezes, ${f.restarts} restarts`,
      `retried ${this.retried}, replayed from the store ${this.replayed}`,
      ...summaryLines(verdict),
    ];
  }
}

/**
 * Runs the demo in full: starts the processes, injects the faults, draws the
 * view on stdout, prints the summary. Resolves to the exit code: 1 if a
 * request was lost or executed twice (or nothing was answered), else 0.
 */
export async function runHaDemo(settings: HaDemoSettings): Promise<0 | 1> {
  // Before any process is started or folder made: a missing driver is a setup error, not a failed run.
  sqlite();
  const demo = new Demo(settings);
  const interrupt = () => demo.abort();
  process.once("SIGINT", interrupt);
  try {
    const verdict = await demo.run();
    process.stdout.write(`${demo.summary(verdict).join("\n")}\n`);
    return exitCode(verdict);
  } finally {
    process.off("SIGINT", interrupt);
  }
}
