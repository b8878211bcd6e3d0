/**
 * A Privateer Majordomo broker in its own process, for fault tests that kill
 * and restart it. Configured by one JSON argument ({@link BrokerChildConfig});
 * prints `{"type":"bound","endpoint":...}` once listening, then each broker
 * event as a JSON line. Exits when stdin closes or on SIGTERM.
 */
import { MajordomoBroker, type BrokerEvent } from "../../../../patterns/majordomo";

/** What a test passes to this script. */
export interface BrokerChildConfig {
  endpoint: string;
  heartbeatInterval: number;
  requestTimeout?: number;
  maxQueuedRequests?: number;
  /** Print only these event types (default: every event); a flood of requests would otherwise print millions of lines. */
  events?: BrokerEvent["type"][];
}

const config = JSON.parse(process.argv[2] ?? "{}") as BrokerChildConfig;
const broker = new MajordomoBroker({
  heartbeatInterval: config.heartbeatInterval,
  ...(config.requestTimeout === undefined ? {} : { requestTimeout: config.requestTimeout }),
  ...(config.maxQueuedRequests === undefined ? {} : { maxQueuedRequests: config.maxQueuedRequests }),
  linger: 0,
});
const printed = config.events === undefined ? undefined : new Set<string>(config.events);

function print(event: BrokerEvent | { type: "bound"; endpoint: string | null }): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

broker.events$.subscribe((event) => {
  if (printed === undefined || printed.has(event.type)) print(event);
});
broker.bind(config.endpoint).then(
  () => print({ type: "bound", endpoint: broker.lastEndpoint }),
  (error: unknown) => {
    process.stderr.write(`bind failed: ${String(error)}\n`);
    process.exit(1);
  },
);

function stop(): void {
  void broker.close().then(() => process.exit(0));
}
process.once("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
