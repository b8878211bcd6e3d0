import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";

const PEERS = path.join(__dirname, "..", "peers");

/** A pyzmq peer from test/patterns/peers: its stdout lines, and a way to wait for one. */
export class PythonPeer {
  readonly lines: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  private stderr = "";
  private exited = false;

  constructor(script: string, args: string[]) {
    this.child = spawn("/usr/bin/python3", [path.join(PEERS, script), ...args], { cwd: PEERS });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.on("exit", () => (this.exited = true));
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
    });
  }

  /** Resolves with the first line (already printed or to come) starting with `prefix`, after `skip` earlier matches. */
  waitFor(prefix: string, ms = 10000, skip = 0): Promise<string> {
    let seen = 0;
    const test = (line: string) => line.startsWith(prefix) && seen++ >= skip;
    const done = this.lines.find(test);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${prefix}" line within ${ms} ms; stdout=${JSON.stringify(this.lines)} stderr=${this.stderr}`)),
        ms,
      );
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Writes one line to the peer's stdin. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Lines starting with `prefix`. */
  matching(prefix: string): string[] {
    return this.lines.filter((line) => line.startsWith(prefix));
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

/** Tracks spawned peers so afterEach can kill them all. */
export class Peers {
  private readonly all: PythonPeer[] = [];
  start(script: string, args: string[]): PythonPeer {
    const peer = new PythonPeer(script, args);
    this.all.push(peer);
    return peer;
  }
  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((peer) => peer.kill("SIGKILL")));
  }
}
