/**
 * A worker of the exactly-once suite (issue 9): serves CHAOS_SERVICE on both
 * brokers of the pair (CHAOS_BROKERS, comma-separated). Each execution of a
 * request writes one row (id, worker, at) into the `ledger` table, which has
 * no unique constraint on purpose: a second execution of an id must show up
 * as a second row. The handler then works CHAOS_WORK_MS and answers `ok:<id>`.
 *
 * CHAOS_STORE picks where the row goes:
 * - `sqlite`: through the transaction of a SqliteStore on the shared file
 *   CHAOS_DB (the store's records and the ledger share it), so the row commits
 *   with the store's record or not at all;
 * - `postgres`: the same with a PostgresStore on CHAOS_PG_URL;
 * - `none`: the negative control. No idempotency store; the row is written on
 *   a plain SQLite connection to CHAOS_DB, committed at once, so a request
 *   that is executed again after a fault leaves two rows.
 *
 * Around each execution the worker prints `BEGIN <id>` (once its ledger row
 * is written, committed or not) and `END <id>` (the reply about to leave):
 * plain lines, not events, from which the runner tells whether a worker it
 * paused was in the middle of a request. Writes to a pipe are synchronous in
 * Node on Linux, so a line printed before SIGSTOP is already in the pipe.
 *
 * The id is the application's (the request body), which the client also
 * sends as the request id on the wire. Events a fault provokes are printed as
 * JSON lines with `worker-` in front of the worker event's type
 * (worker-broker-lost, worker-reconnect, worker-reply-replayed, ...).
 */
import BetterSqlite3 from "better-sqlite3";
import { setTimeout as sleep } from "node:timers/promises";
import { openPostgresStore, openSqliteStore, type PostgresTransaction, type SqliteTransaction } from "../../patterns/exactly-once";
import { MajordomoWorker, type MajordomoRequest, type WorkerEvent } from "../../patterns/majordomo";
import { exitOnTerm, record, required, requiredNumber } from "./env";

const LEDGER_SQLITE = "CREATE TABLE IF NOT EXISTS ledger (id TEXT NOT NULL, worker TEXT NOT NULL, at INTEGER NOT NULL)";
const LEDGER_PG = "CREATE TABLE IF NOT EXISTS ledger (id TEXT NOT NULL, worker TEXT NOT NULL, at BIGINT NOT NULL)";

// "request" and "reply" happen once per request; the rest are what faults cause.
const ROUTINE = new Set<WorkerEvent["type"]>(["request", "reply", "heartbeat-missed", "close"]);

function report(name: string, event: WorkerEvent): void {
  if (ROUTINE.has(event.type)) return;
  if (event.type === "ready") {
    if (event.attempt > 1) record({ node: name, ...event, type: "worker-reconnect" });
    return;
  }
  const fields = event.type === "handler-error" ? { ...event, error: event.error.message } : event;
  record({ node: name, ...fields, type: `worker-${event.type}` });
}

function idOf(request: MajordomoRequest<unknown>): string {
  return request.body[0]?.toString() ?? "";
}

function openSqlite(path: string): BetterSqlite3.Database {
  // Three workers create the table at once; the busy timeout lets the others wait for the first.
  const db = new BetterSqlite3(path, { timeout: 30_000 });
  db.pragma("journal_mode = WAL");
  db.exec(LEDGER_SQLITE);
  return db;
}

async function main(): Promise<void> {
  const name = required("CHAOS_NAME");
  const workMs = requiredNumber("CHAOS_WORK_MS");
  const store = required("CHAOS_STORE");
  const worker = new MajordomoWorker({
    broker: required("CHAOS_BROKERS").split(","),
    service: required("CHAOS_SERVICE"),
    heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
    heartbeatLiveness: requiredNumber("CHAOS_LIVENESS"),
    reconnectInterval: requiredNumber("CHAOS_RECONNECT_MS"),
  });
  worker.events$.subscribe((event) => report(name, event));
  let close: () => Promise<void> = () => Promise.resolve();
  // The rest of the handler once the row is written: the work, then the reply.
  const work = async (id: string): Promise<string> => {
    process.stdout.write(`BEGIN ${id}\n`);
    await sleep(workMs);
    process.stdout.write(`END ${id}\n`);
    return `ok:${id}`;
  };

  if (store === "sqlite") {
    const path = required("CHAOS_DB");
    openSqlite(path).close();
    const idempotency = openSqliteStore({ path });
    const insert = (tx: SqliteTransaction, id: string): void => {
      tx.prepare("INSERT INTO ledger (id, worker, at) VALUES (?, ?, ?)").run(id, name, Date.now());
    };
    worker.serve<SqliteTransaction>(
      async (request) => {
        const id = idOf(request);
        insert(request.tx!, id);
        return work(id);
      },
      { idempotency },
    );
    close = () => idempotency.close();
  } else if (store === "postgres") {
    const { Pool } = (await import("pg")).default;
    const pool = new Pool({ connectionString: required("CHAOS_PG_URL"), max: 4 });
    pool.on("error", () => undefined);
    // Workers starting together can collide creating the same table (pg_type's unique index): one of them made it.
    await pool.query(LEDGER_PG).catch(() => sleep(500).then(() => pool.query(LEDGER_PG)));
    const idempotency = await openPostgresStore({ pool });
    worker.serve<PostgresTransaction>(
      async (request) => {
        const id = idOf(request);
        await request.tx!.query("INSERT INTO ledger (id, worker, at) VALUES ($1, $2, $3)", [id, name, Date.now()]);
        return work(id);
      },
      { idempotency },
    );
    close = () => idempotency.close().then(() => pool.end());
  } else if (store === "none") {
    const db = openSqlite(required("CHAOS_DB"));
    const insert = db.prepare("INSERT INTO ledger (id, worker, at) VALUES (?, ?, ?)");
    worker.serve(async (request) => {
      const id = idOf(request);
      // Committed on its own, before the reply: the effect of an at-least-once handler.
      insert.run(id, name, Date.now());
      return work(id);
    });
    close = async () => {
      db.close();
    };
  } else {
    throw new Error(`chaos node: CHAOS_STORE must be sqlite, postgres or none (got ${store})`);
  }

  exitOnTerm(async () => {
    await worker.close();
    await close();
  });
  console.log(`READY worker ${name} store=${store} pid=${process.pid}`);
}

main().catch((error: unknown) => {
  console.error("eo-worker failed to start", error);
  process.exit(1);
});
