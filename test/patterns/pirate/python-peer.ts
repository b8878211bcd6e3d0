import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";

const PEERS = path.join(__dirname, "..", "peers");

/** A pyzmq peer process whose stdout lines tests can await. */
export class PythonPeer {
  readonly lines: string[] = [];
  private readonly waiters: Array<{ prefix: string; resolve(line: string): void }> = [];
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      this.lines.push(line);
      for (const waiter of [...this.waiters]) {
        if (line.startsWith(waiter.prefix)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
    child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Starts `test/patterns/peers/<script>` with Debian's interpreter (the one pyzmq is installed for). */
  static start(script: string, args: string[]): PythonPeer {
    return new PythonPeer(spawn("/usr/bin/python3", ["-u", path.join(PEERS, script), ...args], { stdio: "pipe" }));
  }

  /** The first stdout line (already printed or still to come) starting with `prefix`. */
  line(prefix: string, ms = 10000): Promise<string> {
    const seen = this.lines.find((line) => line.startsWith(prefix));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${prefix}" line from python peer; got ${JSON.stringify(this.lines)}`)), ms);
      this.waiters.push({
        prefix,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  pause(): void {
    this.child.kill("SIGSTOP");
  }

  /** Ends the process (resuming it first if paused) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}
