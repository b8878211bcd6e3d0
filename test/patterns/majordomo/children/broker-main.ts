/**
 * A Privateer Majordomo broker in its own process, for fault tests that kill
 * and restart it. Configured by one JSON argument ({@link BrokerChildConfig});
 * prints `{"type":"bound","endpoint":...}` once listening, then each broker
 * event as a JSON line. Exits when stdin closes or on SIGTERM.
 */
import { MajordomoBroker, type BrokerEvent, type MajordomoBrokerPairOptions } from "../../../../patterns/majordomo";
import type { BinaryStarEvent } from "../../../../patterns/binary-star";

/** What a test passes to this script. */
export interface BrokerChildConfig {
  endpoint: string;
  heartbeatInterval: number;
  requestTimeout?: number;
  maxQueuedRequests?: number;
  /** Print only these event types (default: every event); a flood of requests would otherwise print millions of lines. */
  events?: BrokerEvent["type"][];
  /** Run as one broker of a pair; its pair events (votes excepted) are printed as `{"type":"pair","event":...}`. */
  pair?: MajordomoBrokerPairOptions;
}

const config = JSON.parse(process.argv[2] ?? "{}") as BrokerChildConfig;
const broker = new MajordomoBroker({
  heartbeatInterval: config.heartbeatInterval,
  ...(config.requestTimeout === undefined ? {} : { requestTimeout: config.requestTimeout }),
  ...(config.maxQueuedRequests === undefined ? {} : { maxQueuedRequests: config.maxQueuedRequests }),
  linger: 0,
  ...(config.pair === undefined ? {} : { pair: config.pair }),
});
const printed = config.events === undefined ? undefined : new Set<string>(config.events);

function print(event: BrokerEvent | { type: "bound"; endpoint: string | null } | { type: "pair"; event: BinaryStarEvent }): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

broker.events$.subscribe((event) => {
  if (printed === undefined || printed.has(event.type)) print(event);
});
// One line per client request would flood the pipe; the state changes are what a test waits for.
broker.pair?.events$.subscribe((event) => {
  if (event.type !== "vote") print({ type: "pair", event });
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
