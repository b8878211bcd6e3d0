/**
 * One Privateer Binary Star server in its own process, for fault tests that
 * SIGKILL, SIGSTOP and SIGCONT it. Configured by one JSON argument
 * ({@link ServerChildConfig}); prints each server event as a JSON line, and
 * `{"type":"served","body":...}` for each request it answers (with its
 * role and the body). Exits when stdin closes or on SIGTERM.
 */
import { BinaryStar, type BinaryStarEndpoints, type BinaryStarEvent, type BinaryStarRole } from "../../../../patterns/binary-star";

/** What a test passes to this script. */
export interface ServerChildConfig {
  role: BinaryStarRole;
  endpoints: BinaryStarEndpoints;
  heartbeat: number;
}

/** What this script prints, one JSON object a line. */
export type ServerLine = BinaryStarEvent | { readonly type: "served"; readonly body: string; readonly at: number };

const config = JSON.parse(process.argv[2] ?? "{}") as ServerChildConfig;
const star = new BinaryStar({ role: config.role, endpoints: config.endpoints, heartbeat: config.heartbeat });

function print(line: ServerLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

star.events$.subscribe((event) => {
  // Votes are one per request: the served lines say what matters, and printing every vote would flood the pipe.
  if (event.type !== "vote") print(event);
});
star.requests$.subscribe((request) => {
  const body = request.body.map(String).join(" ");
  print({ type: "served", body, at: Date.now() });
  void request.reply([config.role, ...request.body]);
});
star.start().catch((error: unknown) => {
  process.stderr.write(`start failed: ${String(error)}\n`);
  process.exit(1);
});

function stop(): void {
  void star.close().then(() => process.exit(0));
}
process.once("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
