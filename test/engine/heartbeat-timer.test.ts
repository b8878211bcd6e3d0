import { TestScheduler } from "rxjs/testing";
import { HeartbeatTimer, type HeartbeatSettings } from "../../src/engine/heartbeat-timer";

type Entry = readonly [event: "ping" | "timeout" | "ttl", at: number];

interface Scenario {
  readonly settings: HeartbeatSettings;
  /** Actions at absolute virtual times (ms). */
  readonly script?: ReadonlyArray<readonly [at: number, action: (timer: HeartbeatTimer) => void]>;
  /** The simulated peer answers every PING after this many ms (undefined: never). */
  readonly answerAfter?: number;
  /** Virtual time at which the test stops the timer if nothing expired first. */
  readonly until: number;
}

/**
 * Runs a HeartbeatTimer in virtual time and records what it did and when.
 * Expiry stops the timer, as the engine does when it closes the connection.
 */
function simulate({ settings, script = [], answerAfter, until }: Scenario): Entry[] {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const log: Entry[] = [];
  scheduler.run(() => {
    const timer: HeartbeatTimer = new HeartbeatTimer(settings, scheduler, {
      sendPing: () => {
        log.push(["ping", scheduler.now()]);
        if (answerAfter !== undefined) scheduler.schedule(() => timer.traffic(), answerAfter);
      },
      expired: (why) => {
        log.push([why, scheduler.now()]);
        timer.stop();
      },
    });
    for (const [at, action] of script) scheduler.schedule(() => action(timer), at);
    scheduler.schedule(() => timer.stop(), until);
    timer.start();
  });
  return log;
}

const pingsAt = (...times: number[]): Entry[] => times.map((at) => ["ping", at] as const);

describe("HeartbeatTimer (virtual time)", () => {
  it("sends a PING every interval while the peer answers", () => {
    const log = simulate({ settings: { interval: 100, timeout: 50 }, answerAfter: 10, until: 950 });
    expect(log).toEqual(pingsAt(100, 200, 300, 400, 500, 600, 700, 800, 900));
  });

  it("expires `timeout` ms after a PING that nothing followed", () => {
    const log = simulate({ settings: { interval: 100, timeout: 30 }, until: 1000 });
    expect(log).toEqual([...pingsAt(100), ["timeout", 130]]);
  });

  it("uses the interval as the timeout when the timeout is not set", () => {
    const log = simulate({ settings: { interval: 100, timeout: 0 }, until: 1000 });
    expect(log).toEqual([...pingsAt(100), ["timeout", 200]]);
  });

  it("counts any traffic, not just PONG, as a sign of life", () => {
    // Traffic at 120 answers the PING at 100; the PING at 200 gets nothing.
    const log = simulate({
      settings: { interval: 100, timeout: 50 },
      script: [[120, (timer) => timer.traffic()]],
      until: 1000,
    });
    expect(log).toEqual([...pingsAt(100, 200), ["timeout", 250]]);
  });

  it("checks every PING, not only the first, when the peer goes silent later", () => {
    const log = simulate({
      settings: { interval: 100, timeout: 50 },
      script: [110, 210, 310].map((at) => [at, (timer: HeartbeatTimer) => timer.traffic()] as const),
      until: 2000,
    });
    expect(log).toEqual([...pingsAt(100, 200, 300, 400), ["timeout", 450]]);
  });

  it("does not count traffic that arrived before the PING", () => {
    const log = simulate({
      settings: { interval: 100, timeout: 50 },
      script: [[90, (timer) => timer.traffic()]],
      until: 1000,
    });
    expect(log).toEqual([...pingsAt(100), ["timeout", 150]]);
  });

  it("keeps at most one timeout pending when the timeout is longer than the interval", () => {
    // The PING at 100 arms a check at 350; the PINGs at 200 and 300 do not arm their own.
    const log = simulate({ settings: { interval: 100, timeout: 250 }, until: 1000 });
    expect(log).toEqual([...pingsAt(100, 200, 300), ["timeout", 350]]);
  });

  it("expires when the peer's TTL passes in silence", () => {
    const log = simulate({
      settings: { interval: 0, timeout: 0 },
      script: [[0, (timer) => timer.peerTtl(500)]],
      until: 5000,
    });
    expect(log).toEqual([["ttl", 500]]);
  });

  it("measures the TTL from the last traffic", () => {
    const log = simulate({
      settings: { interval: 0, timeout: 0 },
      script: [
        [0, (timer) => timer.peerTtl(500)],
        [300, (timer) => timer.traffic()],
        [700, (timer) => timer.traffic()],
      ],
      until: 5000,
    });
    // Checked at 500 (silent 200), re-armed for 800 (silent 100), re-armed for 1200.
    expect(log).toEqual([["ttl", 1200]]);
  });

  it("never expires on TTL while traffic keeps coming", () => {
    const traffic = Array.from({ length: 20 }, (_, i) => [(i + 1) * 200, (timer: HeartbeatTimer) => timer.traffic()] as const);
    const log = simulate({
      settings: { interval: 0, timeout: 0 },
      script: [[0, (timer) => timer.peerTtl(500)], ...traffic],
      until: 4100,
    });
    expect(log).toEqual([]);
  });

  it("ignores a zero TTL and sends nothing with a zero interval", () => {
    const log = simulate({
      settings: { interval: 0, timeout: 100 },
      script: [[0, (timer) => timer.peerTtl(0)]],
      until: 10_000,
    });
    expect(log).toEqual([]);
  });

  it("stop() cancels pings, pending timeouts and the TTL", () => {
    const log = simulate({
      settings: { interval: 100, timeout: 80 },
      script: [
        [10, (timer) => timer.peerTtl(150)],
        [120, (timer) => timer.stop()],
        // A TTL arriving after stop must not re-arm anything.
        [130, (timer) => timer.peerTtl(10)],
      ],
      until: 10_000,
    });
    expect(log).toEqual(pingsAt(100));
  });
});
