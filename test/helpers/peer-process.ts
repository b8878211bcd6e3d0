import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptions } from "node:child_process";
import * as readline from "node:readline";

/** How long stop() lets a peer exit on SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 3000;
/** How much of its stderr (or output) a peer's errors quote: enough to explain a crash. */
const TAIL_CHARS = 4000;

export interface PeerProcessOptions extends Pick<SpawnOptions, "cwd" | "env"> {
  /** Names the peer in error messages. */
  readonly label?: string;
  /** Counts stderr lines among `lines` too, for programs that announce themselves there (nats-server). */
  readonly stderrLines?: boolean;
}

/**
 * A peer in another process that reports what it does one line at a time:
 * its lines so far, a way to await one, signals, and a stop or kill that
 * waits for the exit. Its stdin stays open while it runs, so a peer that
 * leaves when stdin closes goes down with a crashed parent.
 *
 * The one child-process wrapper of the tests and the benchmarks: the
 * Majordomo and Binary Star Node children (test/patterns/majordomo/node-peers.ts),
 * the Python peers (./python.ts), and the benchmark peers and baseline
 * programs (bench/harness/peer-process.ts, bench/harness/foreign-process.ts)
 * are all this class.
 */
export class PeerProcess {
  readonly lines: string[] = [];
  readonly label: string;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: Array<{
    test: (line: string, index: number) => boolean;
    resolve: (line: string) => void;
    reject: (error: Error) => void;
  }> = [];
  /** The end of stderr, or with `stderrLines` of all output, for error messages. */
  private tail = "";
  private readonly tailName: "stderr" | "output";
  private failure?: Error;
  private ended = false;
  private readonly closed: Promise<void>;

  constructor(command: string, args: readonly string[], options: PeerProcessOptions = {}) {
    const { label = "peer", stderrLines = false, ...spawnOptions } = options;
    this.label = label;
    this.child = spawn(command, args, { ...spawnOptions, stdio: "pipe" }) as ChildProcessWithoutNullStreams;
    // "close" rather than "exit": it comes once stdout is drained, so no last line is lost.
    this.closed = new Promise((resolve) => this.child.once("close", () => resolve()));
    this.child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      this.ended = true;
      this.fail(new Error(`${label} exited (${signal ?? `code ${code}`})${this.stderrSuffix()}`));
    });
    this.child.once("error", (error) => {
      this.ended = true;
      this.fail(new Error(`${label}: cannot start: ${error.message}`));
    });
    // A peer that dies early must not leave the parent writing into a closed pipe.
    this.child.stdin.on("error", () => undefined);
    this.tailName = stderrLines ? "output" : "stderr";
    if (stderrLines) {
      // Such a program's errors can be on either stream: quote both.
      for (const stream of [this.child.stdout, this.child.stderr]) {
        readline.createInterface({ input: stream }).on("line", (line) => {
          this.tail = `${this.tail}${line}\n`.slice(-TAIL_CHARS);
          this.push(line);
        });
      }
    } else {
      readline.createInterface({ input: this.child.stdout }).on("line", (line) => this.push(line));
      this.child.stderr.on("data", (chunk: Buffer) => {
        this.tail = (this.tail + chunk.toString()).slice(-TAIL_CHARS);
      });
    }
  }

  /** The process id, or -1 when the program could not be started. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True once the process has ended (or could not start). */
  get exited(): boolean {
    return this.ended;
  }

  /**
   * Resolves with the first line (already printed or to come) passing
   * `test`, after `skip` earlier ones; `test` also gets the line's index in
   * `lines`. Rejects once the peer has ended without printing one.
   */
  waitForLine(test: (line: string, index: number) => boolean, what: string, ms = 10000, skip = 0): Promise<string> {
    let seen = 0;
    const counted = (line: string, index: number) => test(line, index) && seen++ >= skip;
    const done = this.lines.find(counted);
    if (done !== undefined) return Promise.resolve(done);
    if (this.failure) return Promise.reject(new Error(`${this.label}: no ${what}: ${this.failure.message}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        reject(new Error(`${this.label}: no ${what} within ${ms} ms; stdout=${JSON.stringify(this.lines.slice(-50))}${this.stderrSuffix()}`));
      }, ms);
      const entry = {
        test: counted,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(new Error(`${this.label}: no ${what}: ${error.message}`));
        },
      };
      this.waiters.push(entry);
    });
  }

  /** Writes one line to the peer's stdin. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Sends a signal without waiting for anything (SIGSTOP and SIGCONT freeze and thaw the peer). */
  signal(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal);
  }

  /** Ends the peer (thawing it first, should it be SIGSTOPped), insisting with SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.closed;
    clearTimeout(timer);
  }

  /** Kills the peer (default SIGTERM; SIGKILL simulates a crash) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.exited) return;
    this.child.kill(signal);
    await this.closed;
  }

  /**
   * Ends every wait, now and later, with `error` (the first one given wins):
   * for a peer that reports a fatal error in a line of its own.
   */
  protected fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }

  /** The tail of the peer's stderr (with `stderrLines`, of all its output), set off for an error message. */
  protected stderrSuffix(): string {
    const tail = this.tail.trim();
    return tail ? `\n--- ${this.tailName} of ${this.label} ---\n${tail}` : "";
  }

  private push(line: string): void {
    const index = this.lines.push(line) - 1;
    this.waiters = this.waiters.filter((waiter) => (waiter.test(line, index) ? (waiter.resolve(line), false) : true));
  }
}
