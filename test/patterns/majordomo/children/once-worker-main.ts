/**
 * A Privateer Majordomo worker in its own process for the exactly-once
 * crash test: it serves `service` with a handler that writes one ledger row
 * per run into a SQLite file, through the idempotency store's transaction
 * when `idempotency` is on (the store shares that file), or on its own
 * connection when it is off. With `dieBeforeReply`, the process SIGKILLs
 * itself when its first FINAL is about to leave: after the store committed,
 * before the broker hears the reply. Prints its worker events as JSON lines.
 */
import BetterSqlite3 from "better-sqlite3";
import { openSqliteStore, type SqliteTransaction } from "../../../../patterns/exactly-once";
import { MajordomoWorker, type WorkerEvent } from "../../../../patterns/majordomo";
import { dealerLink } from "../../../../patterns/majordomo/link";
import { decodeWorkerCommand } from "../../../../patterns/majordomo/protocol";

/** What the test passes to this script. */
export interface OnceWorkerConfig {
  broker: string;
  service: string;
  /** The SQLite file holding the `ledger` table (and the store's records). */
  path: string;
  idempotency: boolean;
  dieBeforeReply: boolean;
}

const config = JSON.parse(process.argv[2] ?? "{}") as OnceWorkerConfig;
const worker = new MajordomoWorker({
  broker: config.broker,
  service: config.service,
  heartbeatInterval: 500,
  reconnectInterval: 500,
  linkFactory: (endpoint) => {
    const link = dealerLink(endpoint ?? config.broker);
    if (!config.dieBeforeReply) return link;
    return {
      ...link,
      send(frames) {
        // kill -9 of ourselves: nothing after this line runs, and the FINAL never reaches the socket.
        if (decodeWorkerCommand(frames).command.type === "final") process.kill(process.pid, "SIGKILL");
        link.send(frames);
      },
    };
  },
});

worker.events$.subscribe((event: WorkerEvent) => {
  const line = event.type === "handler-error" ? { ...event, error: event.error.message } : event;
  process.stdout.write(`${JSON.stringify({ ...line, pid: process.pid })}\n`);
});

const row = (db: BetterSqlite3.Database, request: string | undefined, amount: string): void => {
  db.prepare("INSERT INTO ledger (request, amount, pid) VALUES (?, ?, ?)").run(request ?? null, amount, process.pid);
};

if (config.idempotency) {
  const store = openSqliteStore({ path: config.path });
  worker.serve<SqliteTransaction>(
    ({ id, body, tx }) => {
      row(tx!, id, String(body[0]));
      return `booked ${String(body[0])}`;
    },
    { idempotency: store },
  );
} else {
  const db = new BetterSqlite3(config.path, { timeout: 10_000 });
  worker.serve(({ id, body }) => {
    row(db, id, String(body[0]));
    return `booked ${String(body[0])}`;
  });
}

process.once("SIGTERM", () => {
  void worker.close();
  setTimeout(() => process.exit(0), 150);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
