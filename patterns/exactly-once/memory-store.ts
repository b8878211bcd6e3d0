import {
  checkFingerprint,
  checkId,
  encodeReply,
  ExactlyOnceError,
  resolveStoreOptions,
  type ExecuteOptions,
  type IdempotencyStore,
  type Outcome,
  type Reply,
  type ResolvedStoreOptions,
  type StoreOptions,
} from "./store";

/**
 * The transaction a MemoryStore hands to the handler: effects are queued with
 * `defer` and applied only if the handler resolves, in the order queued.
 */
export class MemoryTransaction {
  private readonly effects: Array<() => void> = [];

  /** Queues an effect to run at commit; it is dropped if the handler throws. */
  defer(effect: () => void): void {
    this.effects.push(effect);
  }

  /** @internal Applies the queued effects (the store's commit). */
  commit(): void {
    for (const effect of this.effects.splice(0)) effect();
  }
}

interface MemoryRecord {
  readonly reply: Reply;
  readonly fingerprint: string | null;
  readonly createdAt: number;
}

/**
 * An IdempotencyStore in this process's memory, for tests and examples: it
 * has the same contract as the database stores within one process, and
 * forgets everything when the process ends (so it gives no guarantee across
 * a restart or between workers).
 */
export class MemoryStore implements IdempotencyStore<MemoryTransaction> {
  private readonly options: ResolvedStoreOptions;
  private readonly records = new Map<string, MemoryRecord>();
  // Per-id chains: calls for one id run one after another, different ids in parallel.
  private readonly chains = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(options: StoreOptions = {}) {
    this.options = resolveStoreOptions(options, "memory");
  }

  /** How many records are held (expired ones included until purged). */
  get size(): number {
    return this.records.size;
  }

  async execute(id: string, work: (tx: MemoryTransaction) => Promise<Reply> | Reply, options: ExecuteOptions = {}): Promise<Outcome> {
    checkId(id);
    const previous = this.chains.get(id) ?? Promise.resolve();
    const run = async (): Promise<Outcome> => {
      if (this.closed) throw new ExactlyOnceError("closed", "the store is closed");
      const live = this.live(id);
      if (live) {
        checkFingerprint(id, live.fingerprint, options.fingerprint);
        this.options.log.debug({ id }, "replayed a recorded reply");
        return { reply: live.reply.map((frame) => Buffer.from(frame)), replayed: true };
      }
      const tx = new MemoryTransaction();
      const reply = await work(tx);
      // The same check (and error) as the database stores, which must encode the reply.
      encodeReply(reply);
      // Copies, so that a caller mutating its buffers later cannot change the record.
      const record = { reply: reply.map((frame) => Buffer.from(frame)), fingerprint: options.fingerprint ?? null, createdAt: this.options.now() };
      tx.commit();
      this.records.set(id, record);
      return { reply, replayed: false };
    };
    const result = previous.then(run, run);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(id, settled);
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id);
    });
    return result;
  }

  async purge(): Promise<number> {
    let purged = 0;
    for (const [id, record] of this.records) {
      if (this.expired(record)) {
        this.records.delete(id);
        purged += 1;
      }
    }
    return purged;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private live(id: string): MemoryRecord | undefined {
    const record = this.records.get(id);
    return record && !this.expired(record) ? record : undefined;
  }

  private expired(record: MemoryRecord): boolean {
    return this.options.now() - record.createdAt >= this.options.ttlMs;
  }
}
