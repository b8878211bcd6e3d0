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
}

const config = JSON.parse(process.argv[2] ?? "{}") as BrokerChildConfig;
const broker = new MajordomoBroker({
  heartbeatInterval: config.heartbeatInterval,
  requestTimeout: config.requestTimeout ?? 30000,
  linger: 0,
});

function print(event: BrokerEvent | { type: "bound"; endpoint: string | null }): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

broker.events$.subscribe(print);
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
