import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { PYTHON } from "../../helpers/prerequisites";

const SCRIPT = path.join(__dirname, "..", "peers", "plain_peer.py");

/** A test/interop/peers/plain_peer.py process; each stdout line is one JSON report. */
export class PlainPyPeer {
  private readonly lines: unknown[] = [];
  private waiters: Array<() => void> = [];
  private exited = false;
  private stderr = "";

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      this.lines.push(JSON.parse(line));
      this.wake();
    });
    child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.on("exit", () => {
      this.exited = true;
      this.wake();
    });
  }

  static start(args: string[]): PlainPyPeer {
    return new PlainPyPeer(spawn(PYTHON, [SCRIPT, ...args]));
  }

  /** The next report; rejects if the process ends without one. */
  async next<T>(): Promise<T> {
    for (;;) {
      if (this.lines.length > 0) return this.lines.shift() as T;
      if (this.exited) throw new Error(`plain_peer.py ended without a report: ${this.stderr.slice(-500)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
