/**
 * The cost of exactly-once (issue #9): requests per second through the
 * Majordomo broker with `serve(handler, { idempotency: store })` on a SQLite
 * store, against the same workload without a store, in the same round.
 *
 * Each run: a broker process, WORKERS worker processes (one worker socket
 * each) and one client process with CLIENTS MajordomoClient instances, each
 * one request at a time, so CLIENTS requests are in flight. Privateer clients
 * send request ids, so with a store every request takes the store's path:
 * BEGIN IMMEDIATE, the handler (an echo that also writes one ledger row
 * through `tx`), the record, COMMIT. The workers share one database file in
 * a fresh temporary folder (WAL).
 *
 * The headline is the store with its default durability, "process-crash"
 * (synchronous=NORMAL: no fsync per commit); a second variant runs
 * "power-loss" (synchronous=FULL: one fsync per commit). Both have the same
 * broker, worker processes, clients and requests in flight as the run
 * without a store. A second pair puts the WORKERS worker sockets in one
 * process, with and without one shared store (default durability): there the
 * store's requests queue in memory instead of on the file lock that worker
 * processes share.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PeerProcess } from "../harness/peer-process";
import { receivedRate } from "../harness/checks";
import { payload } from "../harness/loops";
import { nowMs, Watchdog, type Role } from "../harness/role";
import { START_TIMEOUT_MS, type RunContext, type Scenario } from "../harness/scenario";
import { sleep } from "../harness/stats";
import { timing, type Timing } from "./timing";

const WORKERS = 4;
const CLIENTS = 16;
const SIZE = 16;
/** The mdp-broker role (bench/scenarios/majordomo.ts) counts registrations of any service. */
const SERVICE = "ledger";

/**
 * "none": no store; "crash": the store with durability "process-crash" (the
 * default); "power": durability "power-loss"; "one": the default, but the
 * WORKERS worker sockets in one process sharing one store (its in-process
 * queue instead of the file lock between processes); "none-one": no store,
 * the WORKERS worker sockets in one process (what "one" compares with).
 */
type Variant = "none" | "crash" | "power" | "one" | "none-one";

/** SQLite's `synchronous` level each durability must run with: 1 NORMAL, 2 FULL. */
const LEVELS = { "process-crash": 1, "power-loss": 2 } as const;
type Durability = keyof typeof LEVELS;

/** Imported on demand, as the Majordomo scenario does: other roles' peers must not load the patterns. */
const majordomo = (): Promise<typeof import("privateer/internal")> => import("privateer/internal");
const exactlyOnce = (): Promise<typeof import("privateer/exactly-once")> => import("privateer/exactly-once");

export const roles: Record<string, Role> = {
  /**
   * One MDP worker socket echoing the request body. With `store` set to a
   * file path, it serves with a SQLite idempotency store on that file and
   * writes one ledger row per request through `tx`, with the store's
   * `durability` (reported with the synchronous level it got). `sockets`
   * worker sockets (default 1) share the process and its store.
   */
  "once-worker": async (ctx) => {
    const { MajordomoWorker } = await majordomo();
    const path = ctx.str("store", "");
    const worker = new MajordomoWorker({ broker: ctx.str("endpoint"), service: SERVICE, concurrency: ctx.num("sockets", 1), socket: { linger: 0 } });
    if (path === "") {
      worker.serve(({ body }) => body);
    } else {
      const { openSqliteStore } = await exactlyOnce();
      const store = openSqliteStore({ path, durability: ctx.str("durability") as Durability });
      // One warm-up transaction creates the ledger table and hands over the connection (`tx` is the store's
      // Database), whose synchronous level proves which durability is measured.
      const setup = `setup-${process.pid}`;
      let db: import("privateer/exactly-once").SqliteTransaction | undefined;
      await store.execute(setup, (tx) => {
        tx.exec("CREATE TABLE IF NOT EXISTS ledger (request TEXT PRIMARY KEY NOT NULL, amount INTEGER NOT NULL)");
        db = tx;
        return [];
      });
      const sync = db!.pragma("synchronous", { simple: true });
      const insert = db!.prepare("INSERT INTO ledger (request, amount) VALUES (?, ?)");
      worker.serve<import("privateer/exactly-once").SqliteTransaction>(
        ({ body, id }) => {
          // Requests without an id would bypass the store: the measurement would not be of the store.
          if (id === undefined) throw new Error("request without an id");
          insert.run(id, 1);
          return body;
        },
        { idempotency: store },
      );
      ctx.emit("synchronous", { level: Number(sync) });
    }
    ctx.emit("ready");
    await sleep(ctx.num("limit"));
    worker.close();
  },
  /**
   * `clients` MajordomoClient instances, each sending one request after
   * another; counts the replies that arrive in the window after a warm-up.
   * Every reply must be the echoed body.
   */
  "once-clients": async (ctx) => {
    const { MajordomoClient } = await majordomo();
    const body = payload(ctx.num("size"));
    const dog = new Watchdog(ctx.num("stall"), "once-clients");
    // A 10 s timeout: a retry would send the request a second time and blur what is measured.
    const options = { broker: ctx.str("endpoint"), timeout: 10_000, socket: { linger: 0 } };
    const clients = Array.from({ length: ctx.num("clients") }, () => new MajordomoClient(options));
    let counting = false;
    let stopping = false;
    let count = 0;
    let bytes = 0;
    const loop = async (client: InstanceType<typeof MajordomoClient>): Promise<void> => {
      while (!stopping) {
        const reply = await client.call(SERVICE, body);
        if (reply.length !== 1 || !reply[0]!.equals(body)) {
          throw new Error(`unexpected reply: ${reply.map((f) => f.toString()).join(" | ")}`);
        }
        dog.tick();
        if (counting) {
          count++;
          bytes += reply[0]!.length;
        }
      }
    };
    try {
      const loops = Promise.all(clients.map(loop));
      // A failing loop must end the run at once, not after the window.
      const failed = loops.then(() => undefined);
      await Promise.race([sleep(ctx.num("warmup")), failed]);
      counting = true;
      const start = nowMs();
      await Promise.race([sleep(ctx.num("window")), failed]);
      counting = false;
      const elapsedMs = nowMs() - start;
      stopping = true;
      await loops;
      ctx.emit("result", { count, bytes, elapsedMs });
    } finally {
      dog.stop();
      await Promise.all(clients.map((c) => c.close()));
    }
  },
};

/** Requests per second of one variant: broker, workers and clients started fresh, with a fresh database. */
async function run(ctx: RunContext, t: Timing, variant: Variant): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "privateer-once-"));
  try {
    const broker = ctx.peer("mdp-broker", { workers: WORKERS, limit: t.peerLimitMs });
    const endpoint = String((await broker.next("ready", START_TIMEOUT_MS)).endpoint);
    const withStore = variant !== "none" && variant !== "none-one";
    const store = withStore ? join(dir, "once.db") : "";
    const workers: PeerProcess[] = [];
    const processes = variant === "one" || variant === "none-one" ? 1 : WORKERS;
    const durability: Durability = variant === "power" ? "power-loss" : "process-crash";
    for (let i = 0; i < processes; i++) {
      const sockets = WORKERS / processes;
      workers.push(ctx.peer("once-worker", { endpoint, store, sockets, durability, limit: t.peerLimitMs }));
    }
    for (const worker of workers) {
      if (withStore) {
        // A worker that did not get the wanted level would measure the other durability.
        const level = Number((await worker.next("synchronous", START_TIMEOUT_MS)).level);
        if (level !== LEVELS[durability]) throw new Error(`a ${durability} worker runs with synchronous=${level}`);
      }
      await worker.next("ready", START_TIMEOUT_MS);
    }
    await broker.next("serving", START_TIMEOUT_MS);
    const client = ctx.peer("once-clients", {
      endpoint,
      clients: CLIENTS,
      size: SIZE,
      warmup: t.warmupMs,
      window: t.windowMs,
      stall: t.stallMs,
    });
    const perSec = receivedRate(await client.next("result", t.peerLimitMs), SIZE).perSec;
    await Promise.all([client.stop(), ...workers.map((w) => w.stop()), broker.stop()]);
    return perSec;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The order of the variants reverses between rounds, so none always meets a machine fresh from another. */
let runs = 0;

export const cost: Scenario = {
  id: "exactly-once-cost",
  title: `Exactly-once cost: Majordomo echo, ${WORKERS} worker processes, ${CLIENTS} clients, ${SIZE} B, with a SQLite store`,
  metric: { label: "replies with the SQLite store (durability process-crash, the default)", unit: "msg/s", better: "higher" },
  extras: {
    noStorePerSec: { label: "same workload, no store", unit: "msg/s" },
    ratio: { label: "store (process-crash) / no store", unit: "x" },
    powerPerSec: { label: "SQLite store, durability power-loss", unit: "msg/s" },
    powerRatio: { label: "store (power-loss) / no store", unit: "x" },
    onePerSec: { label: `SQLite store, the ${WORKERS} worker sockets in one process`, unit: "msg/s" },
    oneNoStorePerSec: { label: `no store, the ${WORKERS} worker sockets in one process`, unit: "msg/s" },
    oneRatio: { label: "store / no store, both in one process", unit: "x" },
  },
  target: {
    kind: "limit",
    text: ">= 0.7x the same run without a store (at most 30% slower), with the store's default durability",
    met: (p) => (p.extra.ratio ?? 0) >= 0.7,
  },
  impls: ["privateer"],
  rounds: { full: 3, quick: 1 },
  inTable: true,
  async measure(ctx) {
    // Store runs count few replies per window: a longer window makes one hiccup weigh less.
    const t = timing(ctx.quick, 2);
    const variants: Variant[] = ["none", "crash", "power", "one", "none-one"];
    const reversed = runs++ % 2 === 1;
    const order = reversed ? [...variants].reverse() : variants;
    const figures = new Map<Variant, number>();
    for (const variant of order) figures.set(variant, await run(ctx, t, variant));
    const none = figures.get("none")!;
    const crash = figures.get("crash")!;
    const power = figures.get("power")!;
    const one = figures.get("one")!;
    const noneOne = figures.get("none-one")!;
    return {
      value: crash,
      extra: { noStorePerSec: none, ratio: crash / none, powerPerSec: power, powerRatio: power / none, onePerSec: one, oneNoStorePerSec: noneOne, oneRatio: one / noneOne },
    };
  },
};

export const scenarios: readonly Scenario[] = [cost];
