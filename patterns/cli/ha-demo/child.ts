/**
 * The processes of the HA demo (patterns/cli/ha-demo/main.ts, `privateer demo`), one per run of
 * this file; the first argument picks the part:
 *
 *   broker primary|backup --frontend E --pub E --sub E
 *   worker NAME --primary E --backup E --db FILE [--no-dedup]
 *   clients N --primary E --backup E
 *
 * Each reports to the orchestrator over the IPC channel (messages.ts), and
 * prints nothing: the orchestrator draws the view.
 */
import Database from "better-sqlite3";
import { MajordomoBroker, MajordomoClient, MajordomoWorker } from "../../majordomo";
import { openSqliteStore } from "../../exactly-once";
import { type ChildMessage, type ParentMessage } from "./messages";

/** Pair heartbeat, MDP heartbeat and worker reconnect interval, in ms. */
export const HEARTBEAT = 250;
/** A client's wait for a reply before it resends on a fresh socket to the other broker: two pair windows. */
export const CLIENT_TIMEOUT = 4 * HEARTBEAT;
/** Resends before a request fails: enough to outlast a failover, a frozen worker and the rotation through a passive broker. */
export const CLIENT_RETRIES = 20;

function option(name: string): string {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0 || at + 1 >= process.argv.length) throw new Error(`--${name} is missing`);
  return process.argv[at + 1]!;
}

function report(message: ChildMessage): void {
  // The orchestrator may already be gone at shutdown: nobody is left to tell.
  if (process.connected) process.send!(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function broker(role: "primary" | "backup"): Promise<void> {
  const broker = new MajordomoBroker({
    heartbeatInterval: HEARTBEAT,
    pair: { role, statePublisher: option("pub"), stateSubscriber: option("sub"), heartbeat: HEARTBEAT },
  });
  broker.pair!.events$.subscribe((event) => {
    if (event.type === "state-changed") report({ type: "broker-state", role, state: event.to });
  });
  await broker.bind(option("frontend"));
  process.once("SIGTERM", () => void broker.close().then(() => process.exit(0)));
}

function worker(name: string): void {
  const dedup = !process.argv.includes("--no-dedup");
  const path = option("db");
  const worker = new MajordomoWorker({
    broker: [option("primary"), option("backup")],
    service: "work",
    heartbeatInterval: HEARTBEAT,
    reconnectInterval: HEARTBEAT,
  });
  worker.events$.subscribe((event) => {
    if (event.type === "ready") report({ type: "worker-ready", worker: name });
    // A redelivered id (a client's resend after a failover or a lost reply) answered from the store.
    if (event.type === "reply-replayed") report({ type: "replayed", worker: name, id: event.requestId });
  });
  // The work: record the execution in the ledger, then take 5-25 ms (a
  // stand-in for real work, and the window in which a kill lands mid-request).
  const work = async (id: string, db: Database.Database): Promise<Buffer[]> => {
    db.prepare("INSERT INTO ledger (id, worker, at) VALUES (?, ?, ?)").run(id, name, Date.now());
    // Reported after the row is written, so a kill on this report lands after the write:
    // with dedup the write is rolled back; without, it stays and the retry writes a second row.
    report({ type: "attempt", worker: name, id });
    await sleep(5 + Math.floor(Math.random() * 20));
    report({ type: "attempt-end", worker: name, id });
    return [Buffer.from(id), Buffer.from(name)];
  };
  if (dedup) {
    // The request id travels beside the body (the client's `id` option, carried by the broker); the worker
    // runs the handler inside the store's transaction and records the reply under the id in the same commit.
    const store = openSqliteStore({ path });
    worker.serve(
      ({ id, tx }) => {
        // Requests without an id would bypass the store; every client of the demo gives one.
        if (id === undefined || tx === undefined) throw new Error("ha-demo: a request arrived without a request id");
        return work(id, tx);
      },
      { idempotency: store },
    );
  } else {
    // Negative control: the same work with no idempotency record, each ledger row committed on its own.
    const db = new Database(path, { timeout: 30_000 });
    worker.serve(({ body }) => work(String(body[0]), db));
  }
  process.once("SIGTERM", () => void worker.close().then(() => process.exit(0)));
}

function clients(count: number): void {
  const endpoints = [option("primary"), option("backup")];
  let stopping = false;
  process.on("message", (message: ParentMessage) => {
    if (message.type === "stop") stopping = true;
  });
  const loop = async (n: number): Promise<void> => {
    const client = new MajordomoClient({ broker: endpoints, timeout: CLIENT_TIMEOUT, retries: CLIENT_RETRIES });
    // One call at a time per client, so a retry is always the current request's.
    let current = "";
    client.events$.subscribe((event) => {
      if (event.type === "retry") report({ type: "retried", id: current });
    });
    for (let seq = 1; !stopping; seq++) {
      current = `c${n}-${String(seq).padStart(6, "0")}`;
      const id = current;
      report({ type: "sent", id });
      try {
        // The id goes twice: as the request's id (what the store deduplicates on) and in the body, so
        // the reply (which echoes the body's id) shows that it answers this request and no other.
        const reply = await client.call("work", [id], { id });
        report({ type: "answered", id, replyId: String(reply[0]) });
      } catch (error) {
        report({ type: "failed", id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await client.close();
  };
  void Promise.all(Array.from({ length: count }, (_, i) => loop(i + 1))).then(() => {
    report({ type: "clients-done" });
    process.disconnect();
  });
}

const part = process.argv[2];
if (part === "broker") void broker(process.argv[3] === "backup" ? "backup" : "primary");
else if (part === "worker") worker(process.argv[3] ?? "w?");
else if (part === "clients") clients(Number(process.argv[3] ?? "1"));
else throw new Error(`ha-demo/child: unknown part ${String(part)}`);
