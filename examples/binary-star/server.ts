/**
 * One server of a Binary Star pair. It answers each request with its role
 * and the request, and prints what the pair does: state changes, the peer
 * found dead, votes it refused, split brains.
 *
 *   node dist/examples/binary-star/server.js --primary|--backup [--heartbeat 1000]
 *        [--frontend tcp://127.0.0.1:5001] [--pub tcp://127.0.0.1:5003] [--sub tcp://127.0.0.1:5004]
 *
 * Without endpoint options the guide's ports are used (primary 5001/5003,
 * backup 5002/5004), so either server pairs with the guide's bstarsrv.
 */
import { BinaryStar, type BinaryStarEvent, type BinaryStarRole } from "privateer";

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : undefined;
}

function say(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
}

function describe(event: BinaryStarEvent): string | undefined {
  switch (event.type) {
    case "started":
      return `listening for clients on ${event.endpoints.frontend}, state on ${event.endpoints.statePublisher}, peer at ${event.endpoints.stateSubscriber}`;
    case "state-changed":
      return `${event.from} → ${event.to} (${event.cause}, term ${event.term})`;
    case "peer-state":
      return `peer says ${event.state}${event.term === undefined ? "" : ` (term ${event.term})`}`;
    case "peer-dead":
      return `peer silent for ${event.silentMs} ms: dead`;
    case "vote":
      return event.accepted ? undefined : `request dropped (${event.state}, ${event.reason ?? "refused"})`;
    case "split-brain":
      return `SPLIT BRAIN ${event.kind}: ${event.resolution} (${event.rule} rule, term ${event.term} vs ${String(event.peerTerm)})`;
    case "stalled":
      return `stalled for ${event.gapMs} ms: not serving for one peer window`;
    case "bad-state":
      return `ignored a bad state message: ${event.reason}`;
    case "socket-error":
      return `socket error: ${event.error.message}`;
    case "close":
      return "closed";
  }
}

async function main(): Promise<void> {
  const role: BinaryStarRole = process.argv.includes("--backup") ? "backup" : "primary";
  const endpoints = {
    ...(option("frontend") ? { frontend: option("frontend")! } : {}),
    ...(option("pub") ? { statePublisher: option("pub")! } : {}),
    ...(option("sub") ? { stateSubscriber: option("sub")! } : {}),
  };
  const star = new BinaryStar({ role, endpoints, heartbeat: Number(option("heartbeat") ?? "1000") });
  star.events$.subscribe((event) => {
    const line = describe(event);
    if (line) say(`${role}: ${line}`);
  });
  star.requests$.subscribe((request) => {
    say(`${role}: serving ${request.body.map(String).join(" ")}`);
    void request.reply([role, ...request.body]);
  });
  const stop = (): void => void star.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await star.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`server failed: ${String(error)}\n`);
  process.exitCode = 1;
});
