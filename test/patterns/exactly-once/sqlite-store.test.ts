import BetterSqlite3 from "better-sqlite3";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { openSqliteStore, type SqliteStore, type SqliteTransaction } from "../../../patterns/exactly-once";
import type { SqliteDurability } from "../../../patterns/exactly-once/sqlite-store";
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

describe("SqliteStore durability", () => {
  let db: ReturnType<typeof freshDatabase>;
  beforeEach(() => {
    db = freshDatabase();
  });
  afterEach(() => db.remove());

  /** The `synchronous` level of the store's own connection, read inside its transaction. */
  async function level(options: { durability?: SqliteDurability }): Promise<number> {
    const store = openSqliteStore({ path: db.path, ...options });
    try {
      // A fresh id per call: a replay would answer with the level of an earlier store.
      const outcome = await store.execute(`level-${options.durability ?? "default"}`, (tx) => [Buffer.from(String(tx.pragma("synchronous", { simple: true })))]);
      return Number(outcome.reply[0]!.toString());
    } finally {
      await store.close();
    }
  }

  it('runs "process-crash" (the default) with synchronous=NORMAL and "power-loss" with FULL', async () => {
    expect(await level({})).toBe(1);
    expect(await level({ durability: "process-crash" })).toBe(1);
    expect(await level({ durability: "power-loss" })).toBe(2);
  });

  it("refuses an unknown durability", () => {
    expect(() => openSqliteStore({ path: db.path, durability: "eventually" as SqliteDurability })).toThrow(
      expect.objectContaining({ reason: "invalid", code: "EINVAL" }),
    );
  });

  /** Starts the durability fixture, waits for its "committed <level>" line, then kills it with SIGKILL. */
  async function commitThenKill(durability: SqliteDurability, mode: "store" | "ack-before-commit"): Promise<number> {
    const child = spawn(process.execPath, ["-r", join(FIXTURES, "ts-register.js"), join(FIXTURES, "durability.fixture.ts"), db.path, durability, mode]);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    const line = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
    if (line.done) throw new Error(`the child ended early: ${stderr}`);
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const [word, synchronous] = (line.value as string).split(" ");
    expect(word).toBe("committed");
    return Number(synchronous);
  }

  it.each<SqliteDurability>(["process-crash", "power-loss"])(
    "keeps a record (and its effect) committed in %s mode by a process that is then killed with SIGKILL",
    async (durability) => {
      expect(await commitThenKill(durability, "store")).toBe(durability === "process-crash" ? 1 : 2);
      const store = openSqliteStore({ path: db.path });
      try {
        const outcome = await store.execute("kept", () => [Buffer.from("handled again")]);
        expect(outcome.replayed).toBe(true);
        expect(outcome.reply[0]!.toString()).toMatch(/^kept by \d+$/);
        expect(effectCounts(db.effects).get("kept")).toBe(1);
      } finally {
        await store.close();
      }
    },
    30_000,
  );

  it("catches, with the same check, a process that acknowledged before its commit (negative control)", async () => {
    expect(await commitThenKill("process-crash", "ack-before-commit")).toBe(1);
    const store = openSqliteStore({ path: db.path });
    try {
      const outcome = await store.execute("kept", (tx) => {
        writeEffect(tx, "kept");
        return [Buffer.from("handled again")];
      });
      // Nothing survived: the acknowledged request runs a second time.
      expect(outcome).toEqual({ reply: [Buffer.from("handled again")], replayed: false });
      expect(effectCounts(db.effects).get("kept")).toBe(1);
    } finally {
      await store.close();
    }
  }, 30_000);
});

describe("SqliteStore stores on one file in one process", () => {
  let db: ReturnType<typeof freshDatabase>;
  beforeEach(() => {
    db = freshDatabase();
  });
  afterEach(() => db.remove());

  /**
   * Store `a` runs a handler that waits for `release`; store `b`, with no
   * patience for a lock (busyTimeoutMs 0), gets another id meanwhile.
   */
  async function overlap(bPath: string): Promise<{ bStartedBeforeRelease: boolean; b: PromiseSettledResult<unknown> }> {
    const a = openSqliteStore({ path: db.path });
    const b = openSqliteStore({ path: bPath, busyTimeoutMs: 0 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let isReleased = false;
    let bStartedBeforeRelease = false;
    try {
      let aStarted!: () => void;
      const started = new Promise<void>((resolve) => (aStarted = resolve));
      const first = a.execute("a", async (tx) => {
        aStarted();
        await released;
        writeEffect(tx, "a");
        return [];
      });
      await started;
      // Settled at once, so that a rejection is observed while `a` still holds the lock.
      const second = Promise.allSettled([
        b.execute("b", (tx) => {
          bStartedBeforeRelease = !isReleased;
          writeEffect(tx, "b");
          return [];
        }),
      ]);
      // Let b's attempt run (and fail, if it goes to the file lock) while a holds the lock.
      await new Promise((resolve) => setTimeout(resolve, 20));
      isReleased = true;
      release();
      await first;
      const [settled] = await second;
      return { bStartedBeforeRelease, b: settled! };
    } finally {
      release();
      await Promise.all([a.close(), b.close()]);
    }
  }

  it("queue behind each other in memory instead of failing on the file's lock", async () => {
    const { bStartedBeforeRelease, b } = await overlap(db.path);
    expect(b.status).toBe("fulfilled");
    expect(bStartedBeforeRelease).toBe(false);
    expect(effectCounts(db.effects)).toEqual(new Map([["a", 1], ["b", 1]]));
  });

  it("fail on the lock with the same check when the file is opened through another name (negative control)", async () => {
    // A link to the folder: the same file, but a different path, so the stores do not share a queue.
    const link = join(dirname(dirname(db.path)), `${dirname(db.path).split("/").pop()}-link`);
    symlinkSync(dirname(db.path), link);
    try {
      const { b } = await overlap(join(link, "once.db"));
      expect(b).toMatchObject({ status: "rejected", reason: { reason: "busy" } });
      expect(effectCounts(db.effects).get("b")).toBeUndefined();
    } finally {
      rmSync(link, { force: true });
    }
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
