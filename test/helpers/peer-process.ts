import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptions } from "node:child_process";
import * as readline from "node:readline";

/** How long stop() lets a peer exit on SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 3000;

/**
 * A peer in another process that reports what it does one line at a time on
 * stdout: its lines so far, a way to await one, signals, and a kill that
 * waits for the exit. Closing its stdin asks it to leave. The one
 * child-process wrapper of the tests: Node children (test/patterns/majordomo/node-peers.ts)
 * and Python peers (./python.ts) are both this class.
 */
export class PeerProcess {
  readonly lines: string[] = [];
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: Array<{
    test: (line: string) => boolean;
    resolve: (line: string) => void;
    reject: (error: Error) => void;
  }> = [];
  private stderr = "";
  private exited = false;

  constructor(command: string, args: string[], options: Pick<SpawnOptions, "cwd" | "env"> = {}) {
    this.child = spawn(command, args, { ...options, stdio: "pipe" }) as ChildProcessWithoutNullStreams;
    this.pid = this.child.pid ?? -1;
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      // Nothing more will be printed: fail whoever still waits (and stop their timers) instead of letting them time out.
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`peer exited (${signal ?? code}) first`));
    });
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
    });
  }

  /** Resolves with the first line (already printed or to come) passing `test`, after `skip` earlier ones. */
  waitForLine(test: (line: string) => boolean, what: string, ms = 10000, skip = 0): Promise<string> {
    let seen = 0;
    const counted = (line: string) => test(line) && seen++ >= skip;
    const done = this.lines.find(counted);
    if (done !== undefined) return Promise.resolve(done);
    if (this.exited) return Promise.reject(new Error(`peer exited before printing ${what}; stderr=${this.stderr.slice(-500)}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${ms} ms; stdout=${JSON.stringify(this.lines)} stderr=${this.stderr}`)),
        ms,
      );
      this.waiters.push({
        test: counted,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(new Error(`no ${what}: ${error.message}; stdout=${JSON.stringify(this.lines)} stderr=${this.stderr}`));
        },
      });
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
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }

  /** Kills the peer (default SIGTERM; SIGKILL simulates a crash) and waits for it to exit. */
  kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.kill(signal);
    });
  }
}
