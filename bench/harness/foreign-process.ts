import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

const STOP_GRACE_MS = 3000;
const TAIL = 4000;

/**
 * A baseline program that does not speak the peer line protocol (the pyzmq
 * broker, nats-server): its stdout and stderr lines are searched for the
 * one that says it is ready, and its pid is what the CPU sampler reads.
 * Its stdin stays open while it runs (the pyzmq peers exit when it closes,
 * so a crashed parent takes them down).
 */
export class ForeignProcess {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly listeners = new Set<() => void>();
  private tail = "";
  private failure?: Error;
  private readonly exited: Promise<void>;

  constructor(
    readonly label: string,
    command: string,
    args: readonly string[],
    options: { cwd?: string } = {},
  ) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], cwd: options.cwd });
    this.exited = new Promise((resolve) => this.child.once("close", () => resolve()));
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        this.lines.push(line);
        this.tail = `${this.tail}${line}\n`.slice(-TAIL);
        for (const listener of [...this.listeners]) listener();
      });
    }
    this.child.stdin!.on("error", () => undefined);
    this.child.once("error", (error) => this.fail(new Error(`${label}: cannot start: ${error.message}`)));
    this.child.once("close", (code: number | null, signal: NodeJS.Signals | null) =>
      this.fail(new Error(`${label} exited (${signal ?? `code ${code}`})${this.output()}`)),
    );
  }

  /** The process id, for /proc; throws when the program could not be started. */
  get pid(): number {
    if (this.child.pid === undefined) throw this.failure ?? new Error(`${this.label} has no pid`);
    return this.child.pid;
  }

  /** Resolves with the first line (stdout or stderr, seen so far or later) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const done = (): void => {
        this.listeners.delete(check);
        clearTimeout(timer);
      };
      const check = (): void => {
        for (; seen < this.lines.length; seen++) {
          const match = pattern.exec(this.lines[seen]!);
          if (match) {
            done();
            resolve(match);
            return;
          }
        }
        if (this.failure) {
          done();
          reject(this.failure);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no line matching ${pattern} within ${timeoutMs} ms${this.output()}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Asks the program to exit, then insists. Resolves once it is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const listener of [...this.listeners]) listener();
  }

  private output(): string {
    const tail = this.tail.trim();
    return tail ? `\n--- output of ${this.label} ---\n${tail}` : "";
  }
}
