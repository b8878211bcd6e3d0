/**
 * The contract every IdempotencyStore keeps, as one suite that each store's
 * test file runs against its own fixture (memory, SQLite, PostgreSQL).
 */
import { ExactlyOnceError, type IdempotencyStore, type Outcome, type Reply } from "../../../patterns/exactly-once";
import { MemoryTransaction } from "../../../patterns/exactly-once";

/** A store plus a way to write and count a handler's own effect rows in its database. */
export interface ContractFixture<Tx> {
  readonly store: IdempotencyStore<Tx>;
  /** Writes one effect row for `id` through the store's transaction handle. */
  writeEffect(tx: Tx, id: string): Promise<void> | void;
  /** Counts the committed effect rows for `id`, read outside any store transaction. */
  countEffects(id: string): Promise<number>;
  /** Closes the store and drops what the fixture created. */
  close(): Promise<void>;
}

export type MakeFixture<Tx> = (options: { readonly ttlMs: number; readonly now: () => number }) => Promise<ContractFixture<Tx>>;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Frames that a lossy encoding would mangle: empty, every byte value, NUL-led, multi-byte UTF-8. */
export const AWKWARD_REPLY: Reply = [Buffer.alloc(0), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0, 0, 1]), Buffer.from("héllo ✓", "utf8")];

/**
 * `count` simultaneous executes of one id whose work writes an effect after
 * yielding to the event loop (as real handlers do), so a store that does not
 * hold duplicates back lets them all in.
 */
export async function runDuplicates<Tx>(
  store: IdempotencyStore<Tx>,
  writeEffect: (tx: Tx, id: string) => Promise<void> | void,
  id: string,
  count: number,
): Promise<{ ran: number; outcomes: Outcome[] }> {
  let ran = 0;
  const outcomes = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.execute(id, async (tx) => {
        ran += 1;
        await tick();
        await writeEffect(tx, id);
        await tick();
        return [Buffer.from(`reply from call ${i}`)];
      }),
    ),
  );
  return { ran, outcomes };
}

/**
 * The negative control for the concurrency clauses: looks for a record, runs
 * the work, then records, with nothing holding a duplicate back in between.
 */
export class CheckThenInsertStore implements IdempotencyStore<MemoryTransaction> {
  private readonly records = new Map<string, Reply>();

  async execute(id: string, work: (tx: MemoryTransaction) => Promise<Reply> | Reply): Promise<Outcome> {
    const found = this.records.get(id);
    if (found) return { reply: found, replayed: true };
    const tx = new MemoryTransaction();
    const reply = await work(tx);
    tx.commit();
    this.records.set(id, reply);
    return { reply, replayed: false };
  }

  async purge(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}
}

export function describeStoreContract<Tx>(name: string, makeFixture: MakeFixture<Tx>, describeFn: jest.Describe = describe): void {
  describeFn(`${name} keeps the IdempotencyStore contract`, () => {
    const TTL = 60_000;
    let now = 1_700_000_000_000;
    let fixture: ContractFixture<Tx>;

    beforeEach(async () => {
      now = 1_700_000_000_000;
      fixture = await makeFixture({ ttlMs: TTL, now: () => now });
    });
    afterEach(async () => {
      await fixture.close();
    });

    /** Work that writes one effect and answers `reply`, counting its runs. */
    const effectWork = (id: string, reply: Reply) => {
      const work = jest.fn(async (tx: Tx) => {
        await fixture.writeEffect(tx, id);
        return reply;
      });
      return work;
    };

    it("runs the work on the first execution and commits its effect with the record", async () => {
      const work = effectWork("a", [Buffer.from("first")]);
      const outcome = await fixture.store.execute("a", work);
      expect(work).toHaveBeenCalledTimes(1);
      expect(outcome.replayed).toBe(false);
      expect(outcome.reply).toEqual([Buffer.from("first")]);
      expect(await fixture.countEffects("a")).toBe(1);
    });

    it("answers a duplicate with the recorded reply without running the work again", async () => {
      await fixture.store.execute("a", effectWork("a", [Buffer.from("first")]));
      const again = effectWork("a", [Buffer.from("second")]);
      const outcome = await fixture.store.execute("a", again);
      expect(again).not.toHaveBeenCalled();
      expect(outcome).toEqual({ reply: [Buffer.from("first")], replayed: true });
      expect(await fixture.countEffects("a")).toBe(1);
      // Another id is another request.
      const other = await fixture.store.execute("b", effectWork("b", [Buffer.from("other")]));
      expect(other.replayed).toBe(false);
    });

    it("replays multi-frame replies byte for byte, empty frames and the empty reply included", async () => {
      await fixture.store.execute("frames", () => AWKWARD_REPLY);
      await fixture.store.execute("none", () => []);
      const frames = await fixture.store.execute("frames", () => [Buffer.from("not run")]);
      const none = await fixture.store.execute("none", () => [Buffer.from("not run")]);
      expect(frames).toEqual({ reply: AWKWARD_REPLY, replayed: true });
      expect(none).toEqual({ reply: [], replayed: true });
    });

    it("runs the work once for 10 concurrent executes of one id; the other 9 replay its reply", async () => {
      const { ran, outcomes } = await runDuplicates(fixture.store, (tx, id) => fixture.writeEffect(tx, id), "dup", 10);
      expect(ran).toBe(1);
      expect(await fixture.countEffects("dup")).toBe(1);
      const first = outcomes.filter((o) => !o.replayed);
      expect(first).toHaveLength(1);
      for (const outcome of outcomes) expect(outcome.reply).toEqual(first[0]!.reply);
    });

    it("records nothing and rolls the effects back when the work throws; a retry then runs", async () => {
      const failure = new Error("handler failed");
      await expect(
        fixture.store.execute("t", async (tx) => {
          await fixture.writeEffect(tx, "t");
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await fixture.countEffects("t")).toBe(0);
      const retry = effectWork("t", [Buffer.from("ok")]);
      const outcome = await fixture.store.execute("t", retry);
      expect(retry).toHaveBeenCalledTimes(1);
      expect(outcome.replayed).toBe(false);
      expect(await fixture.countEffects("t")).toBe(1);
    });

    it("lets a duplicate waiting on a failing first execution run the work itself", async () => {
      const failure = new Error("first attempt failed");
      const first = fixture.store.execute("w", async (tx) => {
        await fixture.writeEffect(tx, "w");
        await tick();
        throw failure;
      });
      const second = fixture.store.execute("w", effectWork("w", [Buffer.from("second")]));
      await expect(first).rejects.toBe(failure);
      expect(await second).toEqual({ reply: [Buffer.from("second")], replayed: false });
      expect(await fixture.countEffects("w")).toBe(1);
    });

    it("treats a record as absent once ttlMs has passed, and purge deletes only expired records", async () => {
      await fixture.store.execute("old", effectWork("old", [Buffer.from("v1")]));
      now += TTL - 1;
      await fixture.store.execute("new", effectWork("new", [Buffer.from("n")]));
      const withinWindow = await fixture.store.execute("old", effectWork("old", [Buffer.from("v2")]));
      expect(withinWindow).toEqual({ reply: [Buffer.from("v1")], replayed: true });

      now += 1; // "old" is now exactly ttlMs old, "new" 1 ms old
      const late = await fixture.store.execute("old", effectWork("old", [Buffer.from("v2")]));
      expect(late).toEqual({ reply: [Buffer.from("v2")], replayed: false });
      expect(await fixture.countEffects("old")).toBe(2);

      now += TTL - 1; // the second "old" record is ttlMs - 1 old, "new" has expired
      expect(await fixture.store.purge()).toBe(1);
      expect((await fixture.store.execute("old", () => [Buffer.from("x")])).replayed).toBe(true);
      expect((await fixture.store.execute("new", () => [Buffer.from("x")])).replayed).toBe(false);
    });

    it("refuses to replay an id recorded for a request with a different fingerprint", async () => {
      await fixture.store.execute("f", () => [Buffer.from("for body A")], { fingerprint: "A" });
      expect(await fixture.store.execute("f", () => [Buffer.from("x")], { fingerprint: "A" })).toEqual({ reply: [Buffer.from("for body A")], replayed: true });
      const reused = fixture.store.execute("f", () => [Buffer.from("x")], { fingerprint: "B" });
      await expect(reused).rejects.toBeInstanceOf(ExactlyOnceError);
      await expect(reused).rejects.toMatchObject({ reason: "id-reused", code: "EINVAL" });
    });

    it("rejects an empty id and calls made after close", async () => {
      await expect(fixture.store.execute("", () => [])).rejects.toMatchObject({ reason: "invalid" });
      await fixture.store.close();
      await expect(fixture.store.execute("late", () => [])).rejects.toMatchObject({ reason: "closed", code: "EBADF" });
    });
  });
}
