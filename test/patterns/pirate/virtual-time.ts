import { TestScheduler } from "rxjs/testing";

/** A TestScheduler for code that schedules its own timers (not marbles): time only moves when a test says so. */
export function virtualScheduler(): TestScheduler {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  return scheduler;
}

/** Runs every timer due in the next `ms` virtual ms and leaves the clock exactly `ms` later. */
export function advance(scheduler: TestScheduler, ms: number): void {
  const target = scheduler.now() + ms;
  scheduler.schedule(() => undefined, ms);
  scheduler.maxFrames = target;
  scheduler.flush();
}
