import type { VirtualTimeScheduler } from "rxjs";

/** Resolves after one turn of the event loop, so pending I/O callbacks run too (a microtask would not). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs the virtual-time actions due up to `time` (an absolute frame) and
 * moves the clock there even when nothing was due, so later delays count
 * from `time`.
 */
export function advanceTo(scheduler: VirtualTimeScheduler, time: number): void {
  scheduler.maxFrames = time;
  scheduler.flush();
  scheduler.frame = Math.max(scheduler.frame, time);
}
