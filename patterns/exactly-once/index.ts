/**
 * Exactly-once request handling (`privateer/exactly-once`): the store layer and a worker-agnostic
 * "handle once" function (docs/exactly-once.md). The database stores load
 * their drivers (better-sqlite3, pg) only when opened, so importing this
 * module needs neither.
 *
 * @packageDocumentation
 * @module privateer/exactly-once
 */
export {
  DEFAULT_TTL_MS,
  ExactlyOnceError,
  fingerprint,
  type ExactlyOnceErrorReason,
  type ExecuteOptions,
  type IdempotencyStore,
  type Outcome,
  type Reply,
  type StoreOptions,
} from "./store";
export { MemoryStore, MemoryTransaction } from "./memory-store";
export { openSqliteStore, SqliteStore, type SqliteDurability, type SqliteStoreOptions, type SqliteTransaction } from "./sqlite-store";
export { openPostgresStore, PostgresStore, type PostgresStoreOptions, type PostgresTransaction } from "./postgres-store";
export { handleOnce, type HandleOnceOptions, type OnceContext, type OnceHandler } from "./handle-once";
