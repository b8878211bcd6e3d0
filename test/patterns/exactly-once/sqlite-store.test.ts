import BetterSqlite3 from "better-sqlite3";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { openSqliteStore, type SqliteStore, type SqliteTransaction } from "../../../patterns/exactly-once";
import { describeStoreContract, runDuplicates } from "./contract";

const FIXTURES = join(__dirname, "fixtures");

/** A fresh database file with the effects table the handlers in these tests write to. */
function freshDatabase(): { path: string; effects: BetterSqlite3.Database; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "privateer-once-"));
  const path = join(dir, "once.db");
  const effects = new BetterSqlite3(path);
  effects.pragma("journal_mode = WAL");
  effects.exec("CREATE TABLE effects (id TEXT NOT NULL, pid INTEGER); CREATE TABLE naive_records (id TEXT PRIMARY KEY)");
  return {
    path,
    effects,
    remove() {
      effects.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const writeEffect = (tx: SqliteTransaction, id: string): void => {
  tx.prepare("INSERT INTO effects (id, pid) VALUES (?, ?)").run(id, process.pid);
};

const effectCounts = (db: BetterSqlite3.Database): Map<string, number> =>
  new Map(db.prepare<[], { id: string; n: number }>("SELECT id, COUNT(*) AS n FROM effects GROUP BY id").all().map((row) => [row.id, row.n]));

describeStoreContract<SqliteTransaction>("SqliteStore", async (options) => {
  const db = freshDatabase();
  const store = openSqliteStore({ path: db.path, ...options });
  return {
    store,
    writeEffect,
    countEffects: async (id) => effectCounts(db.effects).get(id) ?? 0,
    async close() {
      await store.close();
      db.remove();
    },
  };
});

/** Runs the hammer fixture; resolves once it has printed "ready". */
async function startChild(path: string, mode: "store" | "naive" | "die", count: number, workMs: number) {
  const child = spawn(process.execPath, ["-r", join(FIXTURES, "ts-register.js"), join(FIXTURES, "hammer.fixture.ts"), path, mode, String(count), String(workMs)]);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the ${mode} child ended early: ${stderr}`);
    return line.value;
  };
  expect(await nextLine()).toBe("ready");
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, nextLine, exited, stderr: () => stderr };
}

type Child = Awaited<ReturnType<typeof startChild>>;

/** Two processes handle the same `count` ids on one file, started together. */
async function hammer(path: string, mode: "store" | "naive", count: number, workMs: number): Promise<string[][]> {
  // Which process handles which id is up to the lock (one may handle all of
  // them); what makes the test meaningful is that they run at the same time.
  const children: Child[] = await Promise.all([startChild(path, mode, count, workMs), startChild(path, mode, count, workMs)]);
  for (const { child } of children) (child as ChildProcessWithoutNullStreams).stdin.write("go\n");
  const summaries = await Promise.all(children.map((c) => c.nextLine()));
  for (const c of children) expect({ code: await c.exited, stderr: c.stderr() }).toEqual({ code: 0, stderr: "" });
  const [a, b] = summaries.map((line) => JSON.parse(line) as { ran: string[]; startedAt: number; endedAt: number });
  expect(a!.startedAt).toBeLessThan(b!.endedAt);
  expect(b!.startedAt).toBeLessThan(a!.endedAt);
  return [a!.ran, b!.ran];
}

describe("SqliteStore across connections and processes", () => {
  let db: ReturnType<typeof freshDatabase>;
  const stores: SqliteStore[] = [];
  beforeEach(() => {
    db = freshDatabase();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    db.remove();
  });
  const open = (): SqliteStore => {
    const store = openSqliteStore({ path: db.path });
    stores.push(store);
    return store;
  };

  it("runs the work once when two stores (two connections) on one file get the same id at once", async () => {
    const [a, b] = [open(), open()];
    let ran = 0;
    const work = async (tx: SqliteTransaction) => {
      ran += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      writeEffect(tx, "x");
      return [Buffer.from(`run ${ran}`)];
    };
    const outcomes = await Promise.all([a.execute("x", work), b.execute("x", work), a.execute("x", work), b.execute("x", work)]);
    expect(ran).toBe(1);
    expect(effectCounts(db.effects).get("x")).toBe(1);
    expect(outcomes.filter((o) => o.replayed)).toHaveLength(3);
  });

  it("keeps records across a reopen of the file", async () => {
    const first = open();
    await first.execute("kept", () => [Buffer.from("v1")]);
    await first.close();
    const outcome = await open().execute("kept", () => [Buffer.from("v2")]);
    expect(outcome).toEqual({ reply: [Buffer.from("v1")], replayed: true });
  });

  it("gives each id's effect exactly once when two processes handle the same ids on one file", async () => {
    const count = 40;
    const [ranA, ranB] = await hammer(db.path, "store", count, 2);
    const counts = effectCounts(db.effects);
    expect(counts.size).toBe(count);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Each id was handled by exactly one of the two processes.
    expect([...ranA!, ...ranB!].sort()).toEqual(Array.from({ length: count }, (_, i) => `id-${i}`).sort());
  }, 60_000);

  it("catches, with the same check, two processes that check for a record and then insert it (negative control)", async () => {
    const count = 40;
    await hammer(db.path, "naive", count, 5);
    const duplicated = [...effectCounts(db.effects).values()].filter((n) => n > 1);
    expect(duplicated.length).toBeGreaterThan(0);
  }, 60_000);

  it("rolls back the effects of a process killed mid-transaction and releases its lock", async () => {
    const dying = await startChild(db.path, "die", 1, 0);
    dying.child.stdin.write("go\n");
    expect(await dying.nextLine()).toBe("in-transaction");
    dying.child.kill("SIGKILL");
    await dying.exited;
    expect(effectCounts(db.effects).get("id-0")).toBeUndefined();
    const outcome = await open().execute("id-0", (tx) => {
      writeEffect(tx, "id-0");
      return [Buffer.from("after the crash")];
    });
    expect(outcome.replayed).toBe(false);
    expect(effectCounts(db.effects).get("id-0")).toBe(1);
  }, 30_000);

  it("fails with reason busy, without blocking the event loop, while another connection holds the write lock", async () => {
    const store = openSqliteStore({ path: db.path, busyTimeoutMs: 100 });
    stores.push(store);
    db.effects.exec("BEGIN IMMEDIATE");
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    try {
      await expect(store.execute("locked", () => [])).rejects.toMatchObject({ reason: "busy", code: "EAGAIN" });
    } finally {
      clearInterval(timer);
      db.effects.exec("ROLLBACK");
    }
    // A blocked event loop would have run the 10 ms timer at most once.
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect((await store.execute("locked", () => [])).replayed).toBe(false);
  });

  it("fails with reason transaction-ended when the handler commits the store's transaction itself", async () => {
    const store = open();
    await expect(
      store.execute("self-commit", (tx) => {
        tx.exec("COMMIT");
        return [];
      }),
    ).rejects.toMatchObject({ reason: "transaction-ended", code: "EFSM" });
    // Nothing was recorded, so the id is still new.
    expect((await store.execute("self-commit", () => [])).replayed).toBe(false);
  });
});

describe("loading better-sqlite3", () => {
  afterEach(() => jest.resetModules());

  it("is deferred to openSqliteStore, which names the package when it is missing", () => {
    jest.isolateModules(() => {
      jest.doMock("better-sqlite3", () => {
        throw Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: "MODULE_NOT_FOUND" });
      });
      // Importing the module (and its index) must not need the driver.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const once = require("../../../patterns/exactly-once") as typeof import("../../../patterns/exactly-once");
      let error: unknown;
      try {
        once.openSqliteStore({ path: ":memory:" });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(once.ExactlyOnceError);
      expect(error).toMatchObject({ reason: "driver-missing", code: "ENOENT" });
      expect((error as Error).message).toContain("npm install better-sqlite3@12");
    });
  });
});
