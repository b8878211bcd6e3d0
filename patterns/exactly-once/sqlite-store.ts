import type BetterSqlite3 from "better-sqlite3";
import { resolve as resolvePath } from "node:path";
import {
  checkFingerprint,
  checkId,
  checkTableName,
  decodeReply,
  encodeReply,
  ExactlyOnceError,
  loadDriver,
  resolveStoreOptions,
  SerialQueue,
  type ExecuteOptions,
  type IdempotencyStore,
  type Outcome,
  type Reply,
  type ResolvedStoreOptions,
  type StoreOptions,
} from "./store";

/** The handler's transaction handle: the store's own connection, inside BEGIN IMMEDIATE. */
export type SqliteTransaction = BetterSqlite3.Database;

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions extends StoreOptions {
  /** The database file; every worker on the host that shares records opens the same path. */
  readonly path: string;
  /** The table the records go in (default "privateer_idempotency"); created if missing. */
  readonly table?: string;
  /**
   * How long to wait for another process's transaction on the same file to
   * end before failing with reason "busy", in milliseconds (default 30 s).
   * Set it above the longest handler: a duplicate waits for the whole of the
   * first one's transaction.
   */
  readonly busyTimeoutMs?: number;
  /**
   * What a committed record (with the handler's effects) must survive
   * (default "process-crash"):
   *
   * - "process-crash": WAL with `synchronous = NORMAL`. COMMIT hands the
   *   transaction to the operating system without waiting for the disk, so
   *   it survives the worker being killed (SIGKILL, OOM, a container killed)
   *   but the last transactions before an operating system crash or a power
   *   loss may be undone. They are undone whole, effects and record together
   *   (a handler's effect is never kept without its record, so nothing runs
   *   twice), but a client may already have had the reply of a request whose
   *   effect is gone.
   * - "power-loss": WAL with `synchronous = FULL`: every COMMIT waits for an
   *   fsync of the log, so an acknowledged request also survives a power
   *   loss, at the price of one fsync per request (with 4 worker processes
   *   on one file, about a quarter of the throughput without a store in
   *   `npm run bench`, see docs/benchmarks.md).
   *
   * The default is "process-crash" because that is the failure the
   * guarantee is tested against (the chaos suite kills processes and
   * containers, not hosts), because better-sqlite3 itself builds SQLite with
   * NORMAL as the WAL default, and because the fsync per commit, not the
   * bookkeeping, is most of the store's cost. Choose "power-loss" where an
   * acknowledged effect must outlive the host.
   */
  readonly durability?: SqliteDurability;
}

/** See {@link SqliteStoreOptions.durability}. */
export type SqliteDurability = "process-crash" | "power-loss";

/** SQLite's `synchronous` level for each durability (1 NORMAL, 2 FULL). */
const SYNCHRONOUS: Record<SqliteDurability, number> = { "process-crash": 1, "power-loss": 2 };

/*
 * Waiting for the write lock (see SqliteStore): tries spaced by pauses of
 * FIRST_PAUSE_MS doubling up to MAX_PAUSE_MS, for at most LOCK_SLICE_MS
 * before the event loop gets a turn; after LONG_WAIT_MS of waiting, turns of
 * LONG_WAIT_TURN_MS. All in milliseconds.
 */
const LOCK_SLICE_MS = 5;
const FIRST_PAUSE_MS = 0.05;
const MAX_PAUSE_MS = 1;
const LONG_WAIT_MS = 50;
const LONG_WAIT_TURN_MS = 20;
/** What Atomics.wait sleeps on; nothing ever notifies it, so every wait runs to its timeout. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

interface RecordRow {
  readonly fingerprint: string | null;
  readonly reply: Buffer;
  readonly created_at: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Opens (and creates if needed) a SQLite-backed IdempotencyStore with
 * better-sqlite3 12, loaded here rather than at import so that it stays an
 * optional dependency; throws ExactlyOnceError "driver-missing" without it.
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const Database = loadDriver<typeof BetterSqlite3>("better-sqlite3", "SqliteStore");
  return new SqliteStore(Database, options);
}

/**
 * Exactly-once records in a SQLite file shared by the workers of one host.
 *
 * better-sqlite3 is synchronous and a connection holds one transaction at a
 * time, while handlers are asynchronous. So each store has one connection and
 * runs one request at a time on it: `BEGIN IMMEDIATE`, the handler's
 * (possibly asynchronous) work, then the record and `COMMIT`, all on that
 * connection, with the next request queued behind it. BEGIN IMMEDIATE takes
 * the database's write lock at the start, which is what makes a duplicate in
 * another process (or another store on the same file) wait until the first
 * commits or rolls back, and only then look for the record. The price is
 * that writes to the file are serial for the length of each handler: keep
 * handlers short, or use more files (or PostgreSQL) for more throughput.
 *
 * Stores opened on the same path in one process share that queue, so they
 * never wait for each other's lock through the file. So a handler must not
 * call `execute` on a store of its own file: that call would wait for the
 * handler's own transaction.
 *
 * Waiting for another process's lock: SQLite offers no wake-up when a lock
 * is released, only retries, and the lock is usually held for a fraction of
 * a millisecond (another worker's synchronous handler and commit). Retries
 * spaced by timers (at least 1 ms, more under load) or by SQLite's busy
 * handler (1 ms, then 2, 5, ...) leave the lock free most of the time while
 * several processes wait for it, which caps the throughput of all of them.
 * So the store retries on a finer grid: it sleeps the thread (Atomics.wait,
 * no spinning) for 0.05 ms, then 0.1, 0.2, ... up to 1 ms between tries, for
 * at most 5 ms; then the event loop gets a turn (timers, heartbeats and I/O
 * go on) and a new 5 ms slice begins, until `busyTimeoutMs`. The event
 * loop is never blocked for more than about 5 ms at a time. Once a wait has
 * lasted 50 ms the holder is running a long handler, and the turns between
 * slices grow to 20 ms to leave the loop mostly free.
 */
export class SqliteStore implements IdempotencyStore<SqliteTransaction> {
  private readonly db: BetterSqlite3.Database;
  private readonly options: ResolvedStoreOptions;
  private readonly busyTimeoutMs: number;
  private readonly queue: SerialQueue;
  private readonly release: () => void;
  private readonly select: BetterSqlite3.Statement<[string], RecordRow>;
  private readonly insert: BetterSqlite3.Statement<[string, string | null, Buffer, number]>;
  private readonly deleteOne: BetterSqlite3.Statement<[string]>;
  private readonly deleteExpired: BetterSqlite3.Statement<[number]>;
  // Prepared once: exec() would parse these statements again for every request.
  private readonly beginImmediate: BetterSqlite3.Statement<[]>;
  private readonly commit: BetterSqlite3.Statement<[]>;
  private readonly rollback: BetterSqlite3.Statement<[]>;
  private closed = false;

  /** Use {@link openSqliteStore}, which loads the driver. */
  constructor(Database: typeof BetterSqlite3, options: SqliteStoreOptions) {
    this.options = resolveStoreOptions(options, "sqlite");
    const table = checkTableName(options.table ?? "privateer_idempotency");
    this.busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
    if (!Number.isInteger(this.busyTimeoutMs) || this.busyTimeoutMs < 0) {
      throw new ExactlyOnceError("invalid", `busyTimeoutMs must be an integer >= 0 (got ${this.busyTimeoutMs})`);
    }
    const durability = options.durability ?? "process-crash";
    if (!Object.hasOwn(SYNCHRONOUS, durability)) {
      throw new ExactlyOnceError("invalid", `durability must be "process-crash" or "power-loss" (got ${JSON.stringify(durability)})`);
    }
    this.db = new Database(options.path, { timeout: this.busyTimeoutMs });
    try {
      // WAL: readers (the replay fast path) never wait for the writer, and a
      // process killed mid-transaction leaves only uncommitted WAL frames that
      // the next opener ignores. The synchronous level is the durability.
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${SYNCHRONOUS[durability]}`);
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY NOT NULL, fingerprint TEXT, reply BLOB NOT NULL, created_at INTEGER NOT NULL);` +
          `CREATE INDEX IF NOT EXISTS ${table}_created_at ON ${table} (created_at);`,
      );
      this.select = this.db.prepare(`SELECT fingerprint, reply, created_at FROM ${table} WHERE id = ?`);
      this.insert = this.db.prepare(`INSERT INTO ${table} (id, fingerprint, reply, created_at) VALUES (?, ?, ?, ?)`);
      this.deleteOne = this.db.prepare(`DELETE FROM ${table} WHERE id = ?`);
      this.deleteExpired = this.db.prepare(`DELETE FROM ${table} WHERE created_at <= ?`);
      this.beginImmediate = this.db.prepare("BEGIN IMMEDIATE");
      this.commit = this.db.prepare("COMMIT");
      this.rollback = this.db.prepare("ROLLBACK");
      // From now on the store waits for locks itself (begin()), never in SQLite's busy handler, which
      // would block the event loop for the whole wait. (A prepared PRAGMA acts when it is prepared, not
      // when it runs, so this cannot be switched per statement cheaply.)
      this.db.pragma("busy_timeout = 0");
    } catch (cause) {
      this.db.close();
      throw cause;
    }
    ({ queue: this.queue, release: this.release } = sharedQueue(options.path));
  }

  async execute(id: string, work: (tx: SqliteTransaction) => Promise<Reply> | Reply, options: ExecuteOptions = {}): Promise<Outcome> {
    checkId(id);
    return this.queue.run(async () => {
      if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
      // A replay needs no write lock: under WAL this read sees every committed record.
      const committed = this.live(this.readRecord(id));
      if (committed) return this.replay(id, committed, options);
      await this.begin();
      try {
        const row = this.select.get(id);
        const live = this.live(row);
        if (live) {
          this.rollback.run();
          return this.replay(id, live, options);
        }
        if (row) this.deleteOne.run(id);
        const reply = await work(this.db);
        if (!this.db.inTransaction) {
          throw new ExactlyOnceError("transaction-ended", `the handler for ${JSON.stringify(id)} ended the store's transaction; its effects may have been committed without the record`);
        }
        this.insert.run(id, options.fingerprint ?? null, encodeReply(reply), this.options.now());
        this.commit.run();
        return { reply, replayed: false };
      } catch (error) {
        if (this.db.inTransaction) this.rollback.run();
        this.options.log.debug({ id, err: error }, "rolled back: nothing recorded");
        throw error;
      }
    });
  }

  purge(): Promise<number> {
    return this.queue.run(async () => {
      if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
      // In a transaction of its own, so that it waits for the write lock as execute() does.
      await this.begin();
      try {
        const { changes } = this.deleteExpired.run(this.options.now() - this.options.ttlMs);
        this.commit.run();
        return changes;
      } finally {
        if (this.db.inTransaction) this.rollback.run();
      }
    });
  }

  close(): Promise<void> {
    // Queued behind the running request, so its transaction ends first.
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.release();
      this.db.close();
    });
  }

  /**
   * The record of `id` outside any transaction, or undefined when there is
   * none or when the read could not get its snapshot at once (SQLITE_BUSY,
   * which under WAL only another connection's recovery of the file causes):
   * the transaction that follows reads it again under the write lock.
   */
  private readRecord(id: string): RecordRow | undefined {
    try {
      return this.select.get(id);
    } catch (error) {
      if ((error as { code?: unknown }).code === "SQLITE_BUSY") return undefined;
      throw error;
    }
  }

  private live(row: RecordRow | undefined): RecordRow | undefined {
    return row && this.options.now() - row.created_at < this.options.ttlMs ? row : undefined;
  }

  private replay(id: string, row: RecordRow, options: ExecuteOptions): Outcome {
    checkFingerprint(id, row.fingerprint, options.fingerprint);
    this.options.log.debug({ id }, "replayed a recorded reply");
    return { reply: decodeReply(row.reply), replayed: true };
  }

  /** BEGIN IMMEDIATE, waiting for another connection's lock in slices (see the class comment). */
  private async begin(): Promise<void> {
    const started = performance.now();
    for (;;) {
      const sliceEnd = performance.now() + LOCK_SLICE_MS;
      let pause = FIRST_PAUSE_MS;
      for (;;) {
        try {
          this.beginImmediate.run();
          return;
        } catch (error) {
          if ((error as { code?: unknown }).code !== "SQLITE_BUSY") throw error;
          const now = performance.now();
          if (now - started >= this.busyTimeoutMs) {
            throw new ExactlyOnceError("busy", `another connection held the write lock for more than ${this.busyTimeoutMs} ms`, { cause: error });
          }
          if (now >= sliceEnd) break;
          // A sleep of the thread, not a spin: the CPU is free for the process that holds the lock.
          Atomics.wait(PAUSE, 0, 0, Math.min(pause, sliceEnd - now));
          pause = Math.min(pause * 2, MAX_PAUSE_MS);
        }
      }
      const waited = performance.now() - started;
      // setImmediate, not a 0 ms timer: a chain of those can keep the timers phase busy and starve the other timers.
      await (waited < LONG_WAIT_MS ? turn() : sleep(Math.min(LONG_WAIT_TURN_MS, this.busyTimeoutMs - waited)));
    }
  }
}

/**
 * One queue per database path in this process, shared by the stores opened
 * on it, with a count of the stores still open on it. Keyed by the resolved
 * path: the same file reached by another name (a link) only misses the
 * sharing, and still waits on the file lock. ":memory:" and "" are private
 * databases, one per connection, so they never share.
 */
const queues = new Map<string, { queue: SerialQueue; stores: number }>();

function sharedQueue(path: string): { queue: SerialQueue; release: () => void } {
  if (path === ":memory:" || path === "") return { queue: new SerialQueue(), release: () => undefined };
  const key = resolvePath(path);
  let entry = queues.get(key);
  if (!entry) {
    entry = { queue: new SerialQueue(), stores: 0 };
    queues.set(key, entry);
  }
  entry.stores += 1;
  const shared = entry;
  return {
    queue: shared.queue,
    release: () => {
      shared.stores -= 1;
      if (shared.stores === 0 && queues.get(key) === shared) queues.delete(key);
    },
  };
}
