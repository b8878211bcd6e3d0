/**
 * The one virtual clock of the tests: an rxjs scheduler whose time moves only
 * when a test moves it. Code under test takes it as its `scheduler` option,
 * so its timers (heartbeats, retries, expiries) run in virtual time.
 */
import type { VirtualTimeScheduler } from "rxjs";
import { TestScheduler } from "rxjs/testing";

/** Resolves after one turn of the event loop, so pending I/O callbacks run too (a microtask would not). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets queued socket I/O run: a few turns of the event loop. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}

/** A TestScheduler for code that schedules its own timers (not marbles). */
export function virtualScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/**
 * Runs the virtual-time actions due up to `time` (an absolute frame) and
 * moves the clock there even when nothing was due, so later delays count
 * from `time`. Periodic timers never let a plain flush() finish; this stops at `time`.
 */
export function advanceTo(scheduler: VirtualTimeScheduler, time: number): void {
  scheduler.maxFrames = time;
  scheduler.flush();
  scheduler.frame = Math.max(scheduler.frame, time);
}

/** Runs every action due in the next `ms` virtual ms and leaves the clock exactly `ms` later. */
export function advanceBy(scheduler: VirtualTimeScheduler, ms: number): void {
  advanceTo(scheduler, scheduler.now() + ms);
}

/** A virtual scheduler with its controls bound, for tests that hand the clock around. */
export function virtualClock(): { scheduler: TestScheduler; advance(ms: number): void; now(): number } {
  const scheduler = virtualScheduler();
  return {
    scheduler,
    now: () => scheduler.now(),
    advance: (ms) => advanceBy(scheduler, ms),
  };
}

/**
 * Moves virtual time forward `ms` in `stepMs` steps, letting socket I/O run
 * between steps, for code whose timers drive real sockets: a message sent
 * at one tick is delivered before the next.
 */
export async function advanceWithIo(scheduler: VirtualTimeScheduler, ms: number, stepMs = 10): Promise<void> {
  const end = scheduler.now() + ms;
  while (scheduler.now() < end) {
    advanceTo(scheduler, Math.min(end, scheduler.now() + stepMs));
    await settle();
  }
}
