import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { PeerLine } from "./protocol";

/** How long a stopped peer gets to exit (and write its CPU profile) before SIGKILL. */
const STOP_GRACE_MS = 3000;
const STDERR_TAIL = 4000;

interface Waiter {
  readonly event: string;
  resolve(line: PeerLine): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A running peer seen from the orchestrating process: its stdout lines
 * arrive in order and are matched to `next()` calls by event name, so a
 * scenario reads like the conversation it has with its peers.
 */
export class PeerProcess {
  private readonly child: ChildProcess;
  private readonly backlog: PeerLine[] = [];
  private waiter?: Waiter;
  private failure?: Error;
  private stderrTail = "";
  private readonly exited: Promise<void>;

  constructor(
    readonly label: string,
    command: string,
    args: readonly string[],
  ) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    // "close" rather than "exit": it comes after stdout is drained, so no result line is lost.
    this.exited = new Promise((resolve) => this.child.once("close", () => resolve()));
    createInterface({ input: this.child.stdout! }).on("line", (raw) => this.line(raw));
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    // A peer that dies early must not leave the parent writing into a closed pipe.
    this.child.stdin!.on("error", () => undefined);
    this.child.once("error", (error) => this.fail(new Error(`${label}: cannot start: ${error.message}`)));
    this.child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      this.fail(new Error(`${label} exited (${signal ?? `code ${code}`})${this.stderrSuffix()}`));
    });
  }

  /** The next line carrying `event`, skipping none: lines queue until asked for. */
  next(event: string, timeoutMs: number): Promise<PeerLine> {
    const index = this.backlog.findIndex((line) => line.event === event);
    if (index >= 0) return Promise.resolve(this.backlog.splice(index, 1)[0]!);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error(`${this.label}: already waiting for "${this.waiter.event}"`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`${this.label}: no "${event}" within ${timeoutMs} ms${this.stderrSuffix()}`));
      }, timeoutMs);
      this.waiter = { event, resolve, reject, timer };
    });
  }

  /** Sends a one-word command to the peer's stdin. */
  tell(command: string): void {
    this.child.stdin!.write(`${command}\n`);
  }

  /** Asks the peer to exit, then insists. Resolves once it is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private line(raw: string): void {
    let parsed: PeerLine;
    try {
      parsed = JSON.parse(raw) as PeerLine;
    } catch {
      return; // stray output (a library warning) is not part of the protocol
    }
    if (parsed.event === "error") {
      this.fail(new Error(`${this.label}: ${String(parsed.message)}${this.stderrSuffix()}`));
      return;
    }
    const waiter = this.waiter;
    if (waiter && waiter.event === parsed.event) {
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.resolve(parsed);
    } else {
      this.backlog.push(parsed);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.reject(this.failure);
  }

  private stderrSuffix(): string {
    const tail = this.stderrTail.trim();
    return tail ? `\n--- stderr of ${this.label} ---\n${tail}` : "";
  }
}
