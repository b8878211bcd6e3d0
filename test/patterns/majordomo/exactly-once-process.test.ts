import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import BetterSqlite3 from "better-sqlite3";
import { MajordomoClient } from "privateer/internal";
import type { OnceWorkerConfig } from "./children/once-worker-main";
import { nextBrokerEvents, startBroker, Tracker } from "./e2e";
import type { WorkerLine } from "./node-peers";
import { NodePeer } from "./node-peers";

/**
 * The crash the idempotency store exists for, with real processes: worker A
 * (its own process) commits the request's ledger row and the store record,
 * then is killed with SIGKILL before its reply leaves. The broker sees A's
 * connection drop and requeues the request to worker B (another process,
 * same SQLite file), which must replay A's reply instead of booking again.
 */

const ROOT = path.resolve(__dirname, "..", "..", "..");
const ENTRY = path.join(__dirname, "children", "once-worker-main.ts");

let outDir: string;
const tracker = new Tracker();
const peers: NodePeer<WorkerLine>[] = [];

beforeAll(async () => {
  // Compiled with tsc so the children run as plain node, as node-peers.ts does for the other children.
  outDir = await mkdtemp(path.join(tmpdir(), "privateer-once-children-"));
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  await promisify(execFile)(
    process.execPath,
    [tsc, "--outDir", outDir, "--rootDir", ROOT, "--module", "commonjs", "--moduleResolution", "node", "--target", "ES2022",
      "--strict", "--esModuleInterop", "--skipLibCheck", "--lib", "es2022", "--types", "node", ENTRY],
    { cwd: ROOT },
  );
}, 240_000);

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.kill("SIGKILL")));
  await tracker.closeAll();
});

afterAll(() => rm(outDir, { recursive: true, force: true }));

function startWorker(config: OnceWorkerConfig): NodePeer<WorkerLine> {
  const file = path.join(outDir, path.relative(ROOT, ENTRY)).replace(/\.ts$/, ".js");
  const peer = new NodePeer<WorkerLine>(process.execPath, [file, JSON.stringify(config)], {
    cwd: ROOT,
    env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") },
  });
  peers.push(peer);
  return peer;
}

async function crashAfterCommit(idempotency: boolean) {
  const dir = await mkdtemp(path.join(tmpdir(), "privateer-once-crash-"));
  try {
    const file = path.join(dir, "ledger.db");
    const setup = new BetterSqlite3(file);
    setup.pragma("journal_mode = WAL");
    setup.exec("CREATE TABLE ledger (request TEXT, amount TEXT, pid INTEGER)");
    setup.close();
    const { broker, endpoint } = await startBroker(tracker);
    const base = { broker: endpoint, service: "book", path: file, idempotency };
    // A registers first, so the broker (least recently used first) gives it the request.
    let ready = nextBrokerEvents(broker, "worker-ready");
    const a = startWorker({ ...base, dieBeforeReply: true });
    await ready;
    ready = nextBrokerEvents(broker, "worker-ready");
    const b = startWorker({ ...base, dieBeforeReply: false });
    await ready;
    const requeued = nextBrokerEvents(broker, "request-requeued");
    const client = tracker.track(new MajordomoClient({ broker: endpoint, timeout: 30_000, retries: 0 }));
    const reply = (await client.call("book", "100")).map(String);
    await requeued;
    // B prints its replay before its reply leaves, but stdout may reach us after the reply does.
    if (idempotency) await b.waitForEvent("reply-replayed");
    const db = new BetterSqlite3(file, { readonly: true });
    const rows = db.prepare("SELECT request, amount, pid FROM ledger").all() as Array<{ request: string | null; amount: string; pid: number }>;
    db.close();
    const replayed = b.events().filter((event) => event.type === "reply-replayed");
    return { reply, rows, aPid: a.pid, bPid: b.pid, replayed };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("exactly-once across a worker process killed after its commit (SQLite, tcp)", () => {
  it("the requeued request is replayed from the store: one ledger row, written by the killed worker", async () => {
    const run = await crashAfterCommit(true);
    expect(run.reply).toEqual(["booked 100"]);
    expect(run.rows).toEqual([{ request: expect.stringMatching(/^[0-9a-f]{16}-1$/), amount: "100", pid: run.aPid }]);
    expect(run.replayed).toEqual([expect.objectContaining({ requestId: run.rows[0]!.request, pid: run.bPid })]);
  }, 60_000);

  it("negative control: without the idempotency store the same crash books twice", async () => {
    const run = await crashAfterCommit(false);
    expect(run.reply).toEqual(["booked 100"]);
    expect(run.rows.map((row) => row.pid)).toEqual([run.aPid, run.bPid]);
    expect(run.replayed).toEqual([]);
  }, 60_000);
});
