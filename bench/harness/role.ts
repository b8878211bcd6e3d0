import { createInterface } from "node:readline";
import type { BenchLib } from "./lib";
import type { Scalar } from "./protocol";

/** What a role (the code one child process runs) gets from the peer entry point. */
export interface RoleContext {
  /** The library under test; throws for roles that run without one (the raw ZMTP stubs). */
  lib(): BenchLib;
  /** A numeric parameter; `fallback` when absent. */
  num(key: string, fallback?: number): number;
  str(key: string, fallback?: string): string;
  /** Reports to the parent. */
  emit(event: string, fields?: Record<string, Scalar>): void;
  /** Resolves when the parent writes `word` on our stdin. */
  command(word: string, timeoutMs: number): Promise<void>;
}

export type Role = (ctx: RoleContext) => Promise<void>;

export function emit(event: string, fields: Record<string, Scalar> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

const heard: string[] = [];
const listeners = new Set<() => void>();
let reading = false;

/** Stdin commands are few and small; every listener rescans the list of words heard so far. */
export function command(word: string, timeoutMs: number): Promise<void> {
  if (!reading) {
    reading = true;
    createInterface({ input: process.stdin }).on("line", (line) => {
      heard.push(line.trim());
      for (const listener of [...listeners]) listener();
    });
  }
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const index = heard.indexOf(word);
      if (index < 0) return;
      heard.splice(index, 1);
      listeners.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      listeners.delete(check);
      reject(new Error(`no "${word}" command within ${timeoutMs} ms`));
    }, timeoutMs);
    listeners.add(check);
    check();
  });
}

export function nowMs(): number {
  return performance.now();
}

/** Lets timers and I/O callbacks run: a loop of already-resolved awaits never reaches them. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Ends the process when a loop stops making progress for `stallMs`. A
 * receiveTimeout would do the same per call, but it is not free (Privateer
 * schedules a timer for every receive() that has to wait), and the
 * benchmarks must not charge a library for the harness's safety net. This
 * costs one increment per message and one timer per `stallMs`.
 */
export class Watchdog {
  private ticks = 0;
  private seen = -1;
  private readonly timer: NodeJS.Timeout;

  constructor(stallMs: number, what: string) {
    this.timer = setInterval(() => {
      if (this.ticks !== this.seen) {
        this.seen = this.ticks;
        return;
      }
      emit("error", { message: `${what}: no progress for ${stallMs} ms (after ${this.ticks} steps)` });
      process.exit(1);
    }, stallMs);
  }

  tick(): void {
    this.ticks++;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
