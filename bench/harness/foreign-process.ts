import { PeerProcess } from "../../test/helpers/peer-process";

/**
 * A baseline program that does not speak the peer line protocol (the pyzmq
 * broker, nats-server): its stdout and stderr lines are searched for the
 * one that says it is ready, and its pid is what the CPU sampler reads.
 * Its stdin stays open while it runs (the pyzmq peers exit when it closes,
 * so a crashed parent takes them down). The process itself is the tests'
 * child-process wrapper (test/helpers/peer-process.ts).
 */
export class ForeignProcess extends PeerProcess {
  constructor(label: string, command: string, args: readonly string[], options: { cwd?: string } = {}) {
    super(command, args, { label, cwd: options.cwd, stderrLines: true });
  }

  /** The process id, for /proc; throws when the program could not be started. */
  override get pid(): number {
    if (super.pid < 0) throw new Error(`${this.label} has no pid: it could not be started`);
    return super.pid;
  }

  /** Resolves with the first line (stdout or stderr, seen so far or later) matching `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const line = await this.waitForLine((candidate) => pattern.test(candidate), `line matching ${pattern}`, timeoutMs);
    return line.match(pattern)!;
  }
}
