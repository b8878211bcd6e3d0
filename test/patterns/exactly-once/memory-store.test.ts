import { MemoryStore, type MemoryTransaction } from "../../../patterns/exactly-once";
import { CheckThenInsertStore, describeStoreContract, runDuplicates } from "./contract";

describeStoreContract<MemoryTransaction>("MemoryStore", async (options) => {
  const effects: string[] = [];
  const store = new MemoryStore(options);
  return {
    store,
    writeEffect: (tx, id) => tx.defer(() => effects.push(id)),
    countEffects: async (id) => effects.filter((e) => e === id).length,
    close: () => store.close(),
  };
});

describe("the contract's concurrency check", () => {
  it("catches a store that checks for a record and inserts it without holding duplicates back (negative control)", async () => {
    const effects: string[] = [];
    const { ran } = await runDuplicates(new CheckThenInsertStore(), (tx, id) => tx.defer(() => effects.push(id)), "dup", 10);
    expect(ran).toBe(10);
    expect(effects).toHaveLength(10);
  });
});

describe("MemoryStore", () => {
  it("keeps its own copy of the reply, so the caller mutating its buffers does not change the record", async () => {
    const store = new MemoryStore();
    const frame = Buffer.from("abc");
    await store.execute("m", () => [frame]);
    frame.fill(0);
    expect((await store.execute("m", () => [])).reply).toEqual([Buffer.from("abc")]);
  });

  it("rejects a ttlMs that is not a positive integer", () => {
    expect(() => new MemoryStore({ ttlMs: 0 })).toThrow(expect.objectContaining({ reason: "invalid", code: "EINVAL" }));
    expect(() => new MemoryStore({ ttlMs: 1.5 })).toThrow(expect.objectContaining({ reason: "invalid" }));
  });
});
