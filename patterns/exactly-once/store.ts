import { createHash } from "node:crypto";
import { PatternError, type PatternErrorOptions, type ReasonCodes } from "../shared/errors";
import { componentLogger, type Logger } from "../../src/log";

/*
 * The store layer of exactly-once request handling (docs/exactly-once.md).
 * A store records "request `id` was handled, and this was the reply" in the
 * same database transaction as the handler's own writes, so that either both
 * are committed or neither is. Everything a store needs from a database is
 * one transaction that can (1) make a concurrent duplicate of the same id wait
 * for the first to finish, (2) read a committed record and (3) insert one.
 */

/** A reply as the worker sends it: the MDP body frames, stored byte for byte. */
export type Reply = Buffer[];

/** What {@link IdempotencyStore.execute} returns. */
export interface Outcome {
  /** The reply: the one `work` just produced, or the one recorded when the id was first handled. */
  readonly reply: Reply;
  /** True when the id had already been handled and `work` did not run. */
  readonly replayed: boolean;
}

/** Per-call options of {@link IdempotencyStore.execute}. */
export interface ExecuteOptions {
  /**
   * A digest of the request body (see {@link fingerprint}). When given, a
   * record for the same id with a different fingerprint makes `execute`
   * throw an ExactlyOnceError with reason "id-reused" instead of replaying an
   * answer to a different question.
   */
  readonly fingerprint?: string;
}

/**
 * Records that a request id was handled, atomically with the handler's
 * effects and its reply. `Tx` is what the handler writes its own effects
 * through: the better-sqlite3 `Database` inside an open transaction, a `pg`
 * client inside BEGIN, or a MemoryTransaction.
 */
export interface IdempotencyStore<Tx> {
  /**
   * Runs `work` once for `id` and records its reply in the same transaction
   * as whatever `work` writes through `tx`.
   *
   * - No live record for `id`: `work` runs; when it resolves, its effects and
   *   the record commit together and `{ reply, replayed: false }` is returned.
   * - A record exists (committed by this or any other process sharing the
   *   database): `work` does not run; `{ reply: recorded, replayed: true }`.
   * - A concurrent call for the same id is in progress: this call waits for
   *   it to commit (then replays) or roll back (then runs `work` itself).
   * - `work` throws or rejects: the transaction rolls back, nothing is
   *   recorded, the error is rethrown, and a later call for `id` runs again.
   *
   * A record older than the store's `ttlMs` counts as absent: the request is
   * handled again as a new one.
   */
  execute(id: string, work: (tx: Tx) => Promise<Reply> | Reply, options?: ExecuteOptions): Promise<Outcome>;
  /** Deletes the records older than `ttlMs`; resolves to how many went. */
  purge(): Promise<number>;
  /** Releases the database connection(s). Calls made afterwards reject with reason "closed". */
  close(): Promise<void>;
}

/** Options every store accepts. */
export interface StoreOptions {
  /**
   * How long a record is kept, in milliseconds (default 24 h). A retry of the
   * same id that arrives later than this is handled as a new request: set it
   * longer than the longest time a client keeps retrying one request.
   */
  readonly ttlMs?: number;
  /** The clock records are stamped and expired with (ms since the epoch); tests pass a fake one. */
  readonly now?: () => number;
  /** Parent logger (pino); by default the library's, silent unless setLogger was called. */
  readonly logger?: Logger;
}

/** Why an exactly-once store failed; `code` carries the errno-style name. */
export type ExactlyOnceErrorReason =
  /** The database driver (better-sqlite3 or pg) is not installed. */
  | "driver-missing"
  /** The id was recorded for a request with a different fingerprint. */
  | "id-reused"
  /** The store was closed. */
  | "closed"
  /** The handler ended the store's transaction itself (COMMIT or ROLLBACK through `tx`). */
  | "transaction-ended"
  /** Another process held the database's write lock for longer than the store's `busyTimeoutMs`. */
  | "busy"
  /** An option or argument is invalid. */
  | "invalid";

const CODES: ReasonCodes<ExactlyOnceErrorReason> = {
  "driver-missing": "ENOENT",
  "id-reused": "EINVAL",
  closed: "EBADF",
  "transaction-ended": "EFSM",
  busy: "EAGAIN",
  invalid: "EINVAL",
};

/** The error the exactly-once stores raise; errors thrown by the handler itself pass through unchanged. */
export class ExactlyOnceError extends PatternError<ExactlyOnceErrorReason> {
  constructor(reason: ExactlyOnceErrorReason, message: string, options: PatternErrorOptions = {}) {
    super(reason, message, options, CODES);
  }
}

/** 24 hours: longer than any retry loop of the Pirate and Majordomo clients with their defaults. */
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

/** The resolved common options. */
export interface ResolvedStoreOptions {
  readonly ttlMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

export function resolveStoreOptions(options: StoreOptions, store: string): ResolvedStoreOptions {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new ExactlyOnceError("invalid", `ttlMs must be an integer >= 1 (got ${ttlMs})`);
  return { ttlMs, now: options.now ?? Date.now, log: componentLogger("exactly-once", { store }, options.logger) };
}

export function checkId(id: string): void {
  // An empty id would make every request without one a duplicate of the first.
  if (typeof id !== "string" || id.length === 0) throw new ExactlyOnceError("invalid", "the request id must be a non-empty string");
}

/** SQL identifiers are spliced into statements, so only plain names are accepted. */
export function checkTableName(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) throw new ExactlyOnceError("invalid", `table must be a plain SQL identifier (got ${JSON.stringify(table)})`);
  return table;
}

export function checkFingerprint(id: string, recorded: string | null, given: string | undefined): void {
  if (given === undefined || recorded === null || recorded === given) return;
  throw new ExactlyOnceError("id-reused", `request id ${JSON.stringify(id)} was recorded for a different request body`);
}

/**
 * Frames are length-prefixed (4 bytes, big-endian) and concatenated, so that
 * empty frames, frame boundaries and arbitrary bytes all survive the round
 * trip through a single BLOB/BYTEA column.
 */
export function encodeReply(reply: Reply): Buffer {
  if (!Array.isArray(reply) || !reply.every((frame) => Buffer.isBuffer(frame))) {
    throw new ExactlyOnceError("invalid", "the handler's reply must be an array of Buffers");
  }
  const parts: Buffer[] = [];
  for (const frame of reply) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(frame.length);
    parts.push(length, frame);
  }
  return Buffer.concat(parts);
}

export function decodeReply(blob: Buffer | Uint8Array): Reply {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const frames: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new ExactlyOnceError("invalid", "a recorded reply is truncated");
    const length = bytes.readUInt32BE(at);
    at += 4;
    if (at + length > bytes.length) throw new ExactlyOnceError("invalid", "a recorded reply is truncated");
    // A copy, so the caller may keep or mutate the frames whatever the driver does with its buffer.
    frames.push(Buffer.from(bytes.subarray(at, at + length)));
    at += length;
  }
  return frames;
}

/** A SHA-256 digest of the request frames (boundaries included), for {@link ExecuteOptions.fingerprint}. */
export function fingerprint(frames: readonly Buffer[]): string {
  const hash = createHash("sha256");
  for (const frame of frames) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(frame.length);
    hash.update(length).update(frame);
  }
  return hash.digest("hex");
}

/**
 * Loads an optional peer dependency when a store is created, never at import
 * time, so that the package works without either driver installed.
 */
export function loadDriver<T>(name: "better-sqlite3" | "pg", store: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException | null)?.code === "MODULE_NOT_FOUND";
    throw new ExactlyOnceError(
      "driver-missing",
      missing ? `${store} needs the optional dependency ${name}: npm install ${name}${name === "better-sqlite3" ? "@12" : ""}` : `${store} could not load ${name}`,
      { cause },
    );
  }
}

/**
 * Runs tasks one at a time, in call order. Used where one database
 * connection can hold only one transaction at a time.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The queue goes on whether this task fails or not; the caller sees the failure through `result`.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
