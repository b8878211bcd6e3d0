import type BetterSqlite3 from "better-sqlite3";
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
}

interface RecordRow {
  readonly fingerprint: string | null;
  readonly reply: Buffer;
  readonly created_at: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
 * While waiting for the lock the store polls asynchronously instead of using
 * SQLite's busy handler, which would block the event loop for the whole wait.
 */
export class SqliteStore implements IdempotencyStore<SqliteTransaction> {
  private readonly db: BetterSqlite3.Database;
  private readonly options: ResolvedStoreOptions;
  private readonly busyTimeoutMs: number;
  private readonly queue = new SerialQueue();
  private readonly select: BetterSqlite3.Statement<[string], RecordRow>;
  private readonly insert: BetterSqlite3.Statement<[string, string | null, Buffer, number]>;
  private readonly deleteOne: BetterSqlite3.Statement<[string]>;
  private readonly deleteExpired: BetterSqlite3.Statement<[number]>;
  private closed = false;

  /** Use {@link openSqliteStore}, which loads the driver. */
  constructor(Database: typeof BetterSqlite3, options: SqliteStoreOptions) {
    this.options = resolveStoreOptions(options, "sqlite");
    const table = checkTableName(options.table ?? "privateer_idempotency");
    this.busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
    if (!Number.isInteger(this.busyTimeoutMs) || this.busyTimeoutMs < 0) {
      throw new ExactlyOnceError("invalid", `busyTimeoutMs must be an integer >= 0 (got ${this.busyTimeoutMs})`);
    }
    this.db = new Database(options.path, { timeout: this.busyTimeoutMs });
    try {
      // WAL: readers (the replay fast path) never wait for the writer, and a
      // process killed mid-transaction leaves only uncommitted WAL frames that
      // the next opener ignores. FULL: a committed record survives power loss.
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = FULL");
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY NOT NULL, fingerprint TEXT, reply BLOB NOT NULL, created_at INTEGER NOT NULL);` +
          `CREATE INDEX IF NOT EXISTS ${table}_created_at ON ${table} (created_at);`,
      );
      this.select = this.db.prepare(`SELECT fingerprint, reply, created_at FROM ${table} WHERE id = ?`);
      this.insert = this.db.prepare(`INSERT INTO ${table} (id, fingerprint, reply, created_at) VALUES (?, ?, ?, ?)`);
      this.deleteOne = this.db.prepare(`DELETE FROM ${table} WHERE id = ?`);
      this.deleteExpired = this.db.prepare(`DELETE FROM ${table} WHERE created_at <= ?`);
    } catch (cause) {
      this.db.close();
      throw cause;
    }
  }

  async execute(id: string, work: (tx: SqliteTransaction) => Promise<Reply> | Reply, options: ExecuteOptions = {}): Promise<Outcome> {
    checkId(id);
    return this.queue.run(async () => {
      if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
      // A replay needs no write lock: under WAL this read sees every committed record.
      const committed = this.live(this.select.get(id));
      if (committed) return this.replay(id, committed, options);
      await this.begin();
      try {
        const row = this.select.get(id);
        const live = this.live(row);
        if (live) {
          this.db.exec("ROLLBACK");
          return this.replay(id, live, options);
        }
        if (row) this.deleteOne.run(id);
        const reply = await work(this.db);
        if (!this.db.inTransaction) {
          throw new ExactlyOnceError("transaction-ended", `the handler for ${JSON.stringify(id)} ended the store's transaction; its effects may have been committed without the record`);
        }
        this.insert.run(id, options.fingerprint ?? null, encodeReply(reply), this.options.now());
        this.db.exec("COMMIT");
        return { reply, replayed: false };
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        this.options.log.debug({ id, err: error }, "rolled back: nothing recorded");
        throw error;
      }
    });
  }

  purge(): Promise<number> {
    return this.queue.run(async () => {
      if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
      return this.deleteExpired.run(this.options.now() - this.options.ttlMs).changes;
    });
  }

  close(): Promise<void> {
    // Queued behind the running request, so its transaction ends first.
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.db.close();
    });
  }

  private live(row: RecordRow | undefined): RecordRow | undefined {
    return row && this.options.now() - row.created_at < this.options.ttlMs ? row : undefined;
  }

  private replay(id: string, row: RecordRow, options: ExecuteOptions): Outcome {
    checkFingerprint(id, row.fingerprint, options.fingerprint);
    this.options.log.debug({ id }, "replayed a recorded reply");
    return { reply: decodeReply(row.reply), replayed: true };
  }

  /** BEGIN IMMEDIATE, retried without blocking the event loop while another connection writes. */
  private async begin(): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let delay = 1;
    this.db.pragma("busy_timeout = 0");
    try {
      for (;;) {
        try {
          this.db.exec("BEGIN IMMEDIATE");
          return;
        } catch (error) {
          if ((error as { code?: unknown }).code !== "SQLITE_BUSY") throw error;
          if (Date.now() >= deadline) {
            throw new ExactlyOnceError("busy", `another connection held the write lock for more than ${this.busyTimeoutMs} ms`, { cause: error });
          }
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 25);
      }
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }
}
