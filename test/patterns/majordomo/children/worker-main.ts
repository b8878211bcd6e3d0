/**
 * A Privateer Majordomo worker in its own process, for fault tests that kill
 * or freeze it. Configured by one JSON argument ({@link WorkerChildConfig});
 * prints each worker event as a JSON line on stdout. Each request takes
 * `workMs` of sleeping (not CPU; none when 0), and is answered with its body plus a frame
 * naming this process. Exits when stdin closes or on SIGTERM.
 */
import { MajordomoWorker, type MdpVersion, type WorkerEvent } from "../../../../patterns/majordomo";

/** What a test passes to this script. */
export interface WorkerChildConfig {
  /** One broker, or both of a pair. */
  broker: string | string[];
  service: string;
  heartbeatInterval: number;
  workMs: number;
  concurrency?: number;
  version?: MdpVersion;
  /** Print only these event types (default: every event); a flood of requests would otherwise print two lines each. */
  events?: WorkerEvent["type"][];
}

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerChildConfig;
const worker = new MajordomoWorker({
  broker: config.broker,
  service: config.service,
  heartbeatInterval: config.heartbeatInterval,
  reconnectInterval: config.heartbeatInterval,
  concurrency: config.concurrency ?? 1,
  version: config.version ?? "0.2",
});

function print(event: WorkerEvent): void {
  const line = event.type === "handler-error" ? { ...event, error: event.error.message } : event;
  process.stdout.write(`${JSON.stringify({ ...line, pid: process.pid })}\n`);
}

const printed = config.events === undefined ? undefined : new Set<string>(config.events);
worker.events$.subscribe((event) => {
  if (printed === undefined || printed.has(event.type)) print(event);
});
worker.serve(async ({ body }) => {
  // workMs 0 answers at once: even a 0 ms timer costs about 1 ms, which would cap a socket at ~1,000 requests/s.
  if (config.workMs > 0) await new Promise((resolve) => setTimeout(resolve, config.workMs));
  return [...body, `pid:${process.pid}`];
});

function stop(): void {
  worker.close();
  // The DEALERs flush their DISCONNECT for up to their linger (100 ms) before the process goes.
  setTimeout(() => process.exit(0), 150);
}
process.once("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
