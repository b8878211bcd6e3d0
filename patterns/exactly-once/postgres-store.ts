import type * as Pg from "pg";
import {
  checkFingerprint,
  checkId,
  checkTableName,
  decodeReply,
  encodeReply,
  ExactlyOnceError,
  loadDriver,
  resolveStoreOptions,
  type ExecuteOptions,
  type IdempotencyStore,
  type Outcome,
  type Reply,
  type ResolvedStoreOptions,
  type StoreOptions,
} from "./store";

/** The handler's transaction handle: a pooled `pg` client inside the store's BEGIN. */
export type PostgresTransaction = Pg.PoolClient;

/** Options of {@link openPostgresStore}: give `pool` or `connection`. */
export interface PostgresStoreOptions extends StoreOptions {
  /** A pool of the application's; the store takes one client per request and never ends the pool. */
  readonly pool?: Pg.Pool;
  /** Settings for a pool the store creates (and ends on close), when `pool` is not given. */
  readonly connection?: Pg.PoolConfig;
  /** The table the records go in (default "privateer_idempotency"); created if missing. */
  readonly table?: string;
}

/**
 * Opens a PostgreSQL-backed IdempotencyStore, creating its table if missing.
 * `pg` is loaded here rather than at import so that it stays an optional
 * dependency; without it this throws ExactlyOnceError "driver-missing".
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const table = checkTableName(options.table ?? "privateer_idempotency");
  let pool = options.pool;
  const owned = pool === undefined;
  if (pool === undefined) {
    const pg = loadDriver<typeof Pg>("pg", "PostgresStore");
    pool = new pg.Pool(options.connection);
    // An idle client whose connection drops is discarded by the pool, which
    // then emits "error"; unheard, that event would end the process.
    pool.on("error", () => undefined);
  }
  const store = new PostgresStore(pool, owned, table, options);
  try {
    await store.createTable();
  } catch (error) {
    if (owned) await pool.end();
    throw error;
  }
  return store;
}

/**
 * Exactly-once records in PostgreSQL, for workers on several hosts.
 *
 * Each request takes a client from the pool and, in one READ COMMITTED
 * transaction: deletes the id's record if it has expired; claims the id with
 * `INSERT ... ON CONFLICT (id) DO NOTHING`; runs the handler with the client;
 * stores the reply in the claimed row; commits. The claim is what serialises
 * duplicates: PostgreSQL makes an insert that conflicts with a row inserted by
 * a transaction still in progress wait for that transaction. If the first
 * commits, the duplicate's insert does nothing and it reads and returns the
 * recorded reply; if the first rolls back (the handler threw, its connection
 * died), the duplicate's insert succeeds and it runs the handler itself.
 */
export class PostgresStore implements IdempotencyStore<PostgresTransaction> {
  private readonly options: ResolvedStoreOptions;
  private closed = false;

  /** Use {@link openPostgresStore}, which loads the driver and creates the table. */
  constructor(
    private readonly pool: Pg.Pool,
    private readonly ownsPool: boolean,
    private readonly table: string,
    options: StoreOptions,
  ) {
    this.options = resolveStoreOptions(options, "postgres");
  }

  /** @internal Creates the table; an advisory lock keeps two workers starting at once from racing on it. */
  async createTable(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [this.table]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (id TEXT PRIMARY KEY, fingerprint TEXT, reply BYTEA, created_at BIGINT NOT NULL)`,
      );
      await client.query(`CREATE INDEX IF NOT EXISTS ${this.table}_created_at ON ${this.table} (created_at)`);
    });
  }

  async execute(id: string, work: (tx: PostgresTransaction) => Promise<Reply> | Reply, options: ExecuteOptions = {}): Promise<Outcome> {
    checkId(id);
    if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
    return this.transaction(async (client, rollback) => {
      const now = this.options.now();
      // An expired record is the same as none; the row lock this takes also orders two late retries.
      await client.query(`DELETE FROM ${this.table} WHERE id = $1 AND created_at <= $2`, [id, now - this.options.ttlMs]);
      const claim = await client.query(
        `INSERT INTO ${this.table} (id, fingerprint, reply, created_at) VALUES ($1, $2, NULL, $3) ON CONFLICT (id) DO NOTHING`,
        [id, options.fingerprint ?? null, now],
      );
      if (claim.rowCount === 0) {
        // Committed by someone else; READ COMMITTED gives this statement a snapshot that sees it.
        const found = await client.query<{ fingerprint: string | null; reply: Buffer | null }>(
          `SELECT fingerprint, reply FROM ${this.table} WHERE id = $1`,
          [id],
        );
        await rollback();
        const row = found.rows[0];
        if (row === undefined || row.reply === null) {
          // Only a purge between the claim and the read can do this; the caller may simply retry.
          throw new ExactlyOnceError("busy", `the record for ${JSON.stringify(id)} vanished while it was being read`);
        }
        checkFingerprint(id, row.fingerprint, options.fingerprint);
        this.options.log.debug({ id }, "replayed a recorded reply");
        return { reply: decodeReply(row.reply), replayed: true };
      }
      const reply = await work(client);
      await client.query(`UPDATE ${this.table} SET reply = $2 WHERE id = $1`, [id, encodeReply(reply)]);
      return { reply, replayed: false };
    });
  }

  async purge(): Promise<number> {
    if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
    const result = await this.pool.query(`DELETE FROM ${this.table} WHERE created_at <= $1`, [this.options.now() - this.options.ttlMs]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  /**
   * Runs `body` in BEGIN ... COMMIT on one pooled client; any error rolls back.
   * A client whose transaction could not be ended cleanly is destroyed rather
   * than returned to the pool, so no later request inherits an open transaction.
   */
  private async transaction<T>(body: (client: Pg.PoolClient, rollback: () => Promise<void>) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection lost mid-transaction fails the pending query, which is how
    // the caller learns of it; the client also emits "error", which must not
    // go unheard while the client is checked out (it would end the process).
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost = error;
    };
    client.on("error", onError);
    let ended = false;
    const rollback = async (): Promise<void> => {
      ended = true;
      await client.query("ROLLBACK");
    };
    try {
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      const result = await body(client, rollback);
      if (!ended) {
        ended = true;
        await client.query("COMMIT");
      }
      client.off("error", onError);
      client.release();
      return result;
    } catch (error) {
      // ROLLBACK after COMMIT failed, or after the replay path's own ROLLBACK, only draws a warning.
      let broken: Error | undefined;
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      client.off("error", onError);
      client.release(broken ?? lost);
      this.options.log.debug({ err: error, connectionLost: (broken ?? lost) !== undefined }, "rolled back: nothing recorded");
      throw error;
    }
  }
}
