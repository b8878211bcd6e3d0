import { Pool } from "pg";
import { openPostgresStore, type IdempotencyStore, type Outcome, type PostgresStore, type PostgresTransaction, type Reply } from "../../../patterns/exactly-once";
import { describeIfPeer, POSTGRES } from "../../helpers/prerequisites";
import { describeStoreContract } from "./contract";
import { startPostgres, type PostgresServer } from "./postgres-server";

// Table names unique within the run, so tests never see each other's rows.
let tables = 0;
const nextTables = (): { records: string; effects: string } => {
  tables += 1;
  return { records: `once_${tables}`, effects: `effects_${tables}` };
};

describeIfPeer(POSTGRES)("PostgresStore against a real PostgreSQL server", () => {
  let server: PostgresServer;
  let admin: Pool;
  const connection = () => ({ host: server.host, port: server.port, user: server.user, database: "postgres", max: 12 });

  beforeAll(async () => {
    server = await startPostgres();
    admin = new Pool(connection());
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    server?.stop();
  }, 60_000);

  const effectsFixture = async () => {
    const { records, effects } = nextTables();
    await admin.query(`CREATE TABLE ${effects} (id TEXT NOT NULL, backend INTEGER)`);
    return {
      records,
      writeEffect: async (tx: PostgresTransaction, id: string) => {
        await tx.query(`INSERT INTO ${effects} (id, backend) VALUES ($1, pg_backend_pid())`, [id]);
      },
      countEffects: async (id: string) => Number((await admin.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${effects} WHERE id = $1`, [id])).rows[0]!.n),
    };
  };

  describeStoreContract<PostgresTransaction>("PostgresStore", async (options) => {
    const effects = await effectsFixture();
    const store = await openPostgresStore({ connection: connection(), table: effects.records, ...options });
    return { store, writeEffect: effects.writeEffect, countEffects: effects.countEffects, close: () => store.close() };
  });

  describe("across pools and connection loss", () => {
    const stores: PostgresStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    const open = async (table: string): Promise<PostgresStore> => {
      const store = await openPostgresStore({ connection: connection(), table });
      stores.push(store);
      return store;
    };

    it("runs the work once for duplicates spread over two stores (two pools, as on two hosts)", async () => {
      const effects = await effectsFixture();
      const [a, b] = await Promise.all([open(effects.records), open(effects.records)]);
      let ran = 0;
      const work = async (tx: PostgresTransaction) => {
        ran += 1;
        await effects.writeEffect(tx, "x");
        await new Promise((resolve) => setTimeout(resolve, 20));
        return [Buffer.from("done")];
      };
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).execute("x", work)));
      expect(ran).toBe(1);
      expect(await effects.countEffects("x")).toBe(1);
      expect(outcomes.filter((o) => o.replayed)).toHaveLength(9);
    });

    it("rolls back a transaction whose connection dies mid-handler, and the waiting duplicate then runs", async () => {
      const effects = await effectsFixture();
      const store = await open(effects.records);
      let reachedEffect!: (pid: number) => void;
      const effectWritten = new Promise<number>((resolve) => (reachedEffect = resolve));
      const first = store.execute("k", async (tx) => {
        await effects.writeEffect(tx, "k");
        reachedEffect(Number((await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid));
        // Hangs, as a worker would if its process stalled; only the kill below ends it.
        await tx.query("SELECT pg_sleep(60)");
        return [Buffer.from("never")];
      });
      const pid = await effectWritten;
      const second = store.execute("k", async (tx) => {
        await effects.writeEffect(tx, "k");
        return [Buffer.from("second")];
      });
      // The duplicate waits on the first's claim of the id: it must still be pending.
      const pending = Symbol("pending");
      expect(await Promise.race([second, new Promise((resolve) => setTimeout(() => resolve(pending), 200))])).toBe(pending);

      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await expect(first).rejects.toThrow();
      expect(await second).toEqual({ reply: [Buffer.from("second")], replayed: false });
      expect(await effects.countEffects("k")).toBe(1);
    }, 30_000);

    it("catches a transaction that looks for the record before claiming the id: duplicates both run (negative control)", async () => {
      const effects = await effectsFixture();
      await open(effects.records); // creates the records table
      const pool = new Pool(connection());
      // Reads, runs the work, then inserts the record, all in one transaction:
      // atomic, but a duplicate's read does not wait for the first to commit.
      const lookFirst: IdempotencyStore<PostgresTransaction> = {
        async execute(id: string, work: (tx: PostgresTransaction) => Promise<Reply> | Reply): Promise<Outcome> {
          const client = await pool.connect();
          try {
            await client.query("BEGIN");
            const found = await client.query(`SELECT reply FROM ${effects.records} WHERE id = $1`, [id]);
            if (found.rowCount !== 0) {
              await client.query("ROLLBACK");
              return { reply: [], replayed: true };
            }
            const reply = await work(client);
            await client.query(`INSERT INTO ${effects.records} (id, reply, created_at) VALUES ($1, $2, 0) ON CONFLICT (id) DO NOTHING`, [id, Buffer.alloc(0)]);
            await client.query("COMMIT");
            return { reply, replayed: false };
          } finally {
            client.release();
          }
        },
        purge: async () => 0,
        close: () => pool.end(),
      };
      // The first handler waits until a second one has started. With the real
      // store that never happens (the second waits on the first's claim); here
      // the second's read does not see the first's uncommitted work, so it does.
      let started = 0;
      let secondStarted!: () => void;
      const barrier = new Promise<void>((resolve) => (secondStarted = resolve));
      const work = async (tx: PostgresTransaction): Promise<Reply> => {
        started += 1;
        if (started === 2) secondStarted();
        await barrier;
        await effects.writeEffect(tx, "dup");
        return [Buffer.from("done")];
      };
      try {
        await Promise.all([lookFirst.execute("dup", work), lookFirst.execute("dup", work)]);
        expect(started).toBe(2);
        expect(await effects.countEffects("dup")).toBe(2);
      } finally {
        await lookFirst.close();
      }
    });

    it("creates its table once when several stores open at the same time", async () => {
      const { records } = nextTables();
      await Promise.all(Array.from({ length: 4 }, () => open(records)));
      const found = await admin.query("SELECT 1 FROM information_schema.tables WHERE table_name = $1", [records]);
      expect(found.rowCount).toBe(1);
    });

    it("refuses a table name that is not a plain identifier", async () => {
      await expect(openPostgresStore({ connection: connection(), table: "x; DROP TABLE y" })).rejects.toMatchObject({ reason: "invalid" });
    });
  });
});

describe("loading pg", () => {
  afterEach(() => jest.resetModules());

  it("is deferred to openPostgresStore, which names the package when it is missing", async () => {
    let once!: typeof import("../../../patterns/exactly-once");
    jest.isolateModules(() => {
      jest.doMock("pg", () => {
        throw Object.assign(new Error("Cannot find module 'pg'"), { code: "MODULE_NOT_FOUND" });
      });
      // Importing the module (and its index) must not need the driver.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      once = require("../../../patterns/exactly-once") as typeof import("../../../patterns/exactly-once");
    });
    const opening = once.openPostgresStore({ connection: {} });
    await expect(opening).rejects.toBeInstanceOf(once.ExactlyOnceError);
    await expect(opening).rejects.toMatchObject({ reason: "driver-missing", code: "ENOENT", message: expect.stringContaining("npm install pg") });
  });
});
