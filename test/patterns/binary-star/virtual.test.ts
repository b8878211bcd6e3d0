/**
 * Two BinaryStar servers in this process over inproc, their heartbeats on a
 * virtual-time scheduler: the pair settles, fails over on a client vote,
 * takes back a restarted peer, and fences itself after a stall, with the
 * clock moved by hand.
 */
import { BinaryStar, BinaryStarClient, BinaryStarError, type BinaryStarOptions, type BinaryStarState } from "../../../patterns/binary-star";
import { advanceWithIo, settle, virtualScheduler } from "../../helpers/clock";
import { inprocPair, ofType, record } from "./pair";

const HB = 1000;
const WINDOW = 2 * HB;

const servers: BinaryStar[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function server(options: BinaryStarOptions): BinaryStar {
  const star = new BinaryStar({ heartbeat: HB, ...options });
  servers.push(star);
  return star;
}

function states(star: BinaryStar): BinaryStarState[] {
  const seen: BinaryStarState[] = [];
  star.state$.subscribe((state) => seen.push(state));
  return seen;
}

describe("a Binary Star pair in virtual time", () => {
  it("settles as primary active and backup passive, and only the active serves", async () => {
    const clock = virtualScheduler();
    const endpoints = inprocPair();
    const primary = server({ role: "primary", endpoints: endpoints.primary, scheduler: clock });
    const backup = server({ role: "backup", endpoints: endpoints.backup, scheduler: clock });
    const primaryStates = states(primary);
    const backupEvents = record(backup);
    await backup.start();
    await primary.start();
    await advanceWithIo(clock, HB + 10);
    expect(primary.state).toBe("active");
    expect(backup.state).toBe("passive");
    expect(primaryStates).toEqual(["primary", "active"]);
    expect(ofType(backupEvents, "state-changed")).toEqual([{ type: "state-changed", from: "backup", to: "passive", cause: "peer-active", term: 0 }]);
    expect(primary.term).toBe(1);
    expect(primary.vote()).toBe(true);
    expect(backup.vote()).toBe(false);
    expect(ofType(backupEvents, "vote")).toEqual([{ type: "vote", accepted: false, state: "passive", reason: "peer-alive" }]);
  });

  it("the passive takes over only on a client vote after a whole window of silence", async () => {
    const clock = virtualScheduler();
    const endpoints = inprocPair();
    const primary = server({ role: "primary", endpoints: endpoints.primary, scheduler: clock });
    const backup = server({ role: "backup", endpoints: endpoints.backup, scheduler: clock });
    const events = record(backup);
    await backup.start();
    await primary.start();
    await advanceWithIo(clock, HB + 10);
    expect(backup.state).toBe("passive");

    await primary.close();
    const closedAt = clock.now();
    // The last state message was heard at or before closedAt: until a window has passed, the vote is refused.
    await advanceWithIo(clock, WINDOW - HB);
    expect(backup.vote()).toBe(false);
    await advanceWithIo(clock, HB + 10);
    expect(ofType(events, "peer-dead")).toHaveLength(1);
    // Silence alone does not make it active: no client has asked.
    expect(backup.state).toBe("passive");
    expect(backup.vote()).toBe(true);
    expect(backup.state).toBe("active");
    expect(backup.term).toBe(2);
    expect(clock.now() - closedAt).toBeGreaterThanOrEqual(WINDOW);
    expect(ofType(events, "state-changed").at(-1)).toEqual({ type: "state-changed", from: "passive", to: "active", cause: "client-request", term: 2 });
  });

  it("a primary restarted while the backup is active comes back passive", async () => {
    const clock = virtualScheduler();
    const endpoints = inprocPair();
    const primary = server({ role: "primary", endpoints: endpoints.primary, scheduler: clock });
    const backup = server({ role: "backup", endpoints: endpoints.backup, scheduler: clock });
    await backup.start();
    await primary.start();
    await advanceWithIo(clock, HB + 10);
    await primary.close();
    await advanceWithIo(clock, WINDOW + HB);
    expect(backup.vote()).toBe(true);

    const again = server({ role: "primary", endpoints: endpoints.primary, scheduler: clock });
    const againStates = states(again);
    await again.start();
    await advanceWithIo(clock, 2 * HB);
    expect(again.state).toBe("passive");
    expect(againStates).toEqual(["primary", "passive"]);
    expect(backup.state).toBe("active");
    // Even after its own window passed, the restarted primary hears the backup and never serves.
    await advanceWithIo(clock, 3 * HB);
    expect(again.vote()).toBe(false);
    expect(backup.vote()).toBe(true);
  });

  it("a primary alone serves once the backup has been silent for a window; a backup alone never does", async () => {
    const clock = virtualScheduler();
    const endpoints = inprocPair();
    const primary = server({ role: "primary", endpoints: endpoints.primary, scheduler: clock });
    await primary.start();
    await advanceWithIo(clock, WINDOW - 10);
    expect(primary.vote()).toBe(false);
    await advanceWithIo(clock, 10);
    expect(primary.vote()).toBe(true);
    await primary.close();

    const backup = server({ role: "backup", endpoints: inprocPair().backup, scheduler: clock });
    await backup.start();
    await advanceWithIo(clock, 5 * WINDOW);
    expect(backup.vote()).toBe(false);
    expect(backup.state).toBe("backup");
  });

  it("an active whose loop stalled for a window is fenced: it refuses requests and publishes nothing for one window", async () => {
    // Each server has its own clock so that one can stall while the other runs.
    const primaryClock = virtualScheduler();
    const backupClock = virtualScheduler();
    const endpoints = inprocPair();
    const primary = server({ role: "primary", endpoints: endpoints.primary, scheduler: primaryClock });
    const backup = server({ role: "backup", endpoints: endpoints.backup, scheduler: backupClock });
    const events = record(primary);
    const backupEvents = record(backup);
    await backup.start();
    await primary.start();
    const both = async (ms: number) => {
      for (let t = 0; t < ms; t += 10) {
        await Promise.all([advanceWithIo(primaryClock, 10), advanceWithIo(backupClock, 10)]);
      }
    };
    await both(HB + 10);
    expect(primary.state).toBe("active");

    // The stall: the primary's clock jumps a whole window without its timers running.
    primaryClock.frame += WINDOW;
    expect(primary.vote()).toBe(false);
    expect(ofType(events, "stalled")).toEqual([{ type: "stalled", gapMs: expect.any(Number), fencedUntil: primaryClock.now() + WINDOW }]);
    expect(ofType(events, "vote").at(-1)).toEqual({ type: "vote", accepted: false, state: "active", reason: "fenced" });
    // The fenced primary publishes nothing: the backup finds it dead, then hears it again once the fence is over.
    await both(WINDOW + HB);
    const dead = backupEvents.findIndex((event) => event.type === "peer-dead");
    expect(dead).toBeGreaterThan(0);
    expect(backupEvents.slice(dead + 1)).toContainEqual({ type: "peer-state", state: "active", term: 1 });
    expect(primary.state).toBe("active");
    expect(primary.vote()).toBe(true);
    expect(backup.state).toBe("passive");
  });

  it("refuses bad options and a second start; close() is one promise and ends the events with close", async () => {
    expect(() => new BinaryStar({ role: "primary", heartbeat: 0 })).toThrow(BinaryStarError);
    expect(() => new BinaryStar({ role: "primary", peerExpiryMultiplier: 1 })).toThrow(/peerExpiryMultiplier/);
    expect(() => new BinaryStar({ role: "master" as "primary" })).toThrow(/role/);
    const star = server({ role: "primary", endpoints: { ...inprocPair().primary }, scheduler: virtualScheduler() });
    await star.start();
    await expect(star.start()).rejects.toMatchObject({ reason: "invalid", code: "EINVAL" });
    const events = record(star);
    const closing = star.close();
    expect(star.close()).toBe(closing);
    await closing;
    expect(events.at(-1)).toEqual({ type: "close" });
    expect(star.vote()).toBe(false);
    await settle();
  });
});

describe("the failover client in virtual time", () => {
  it("waits the timeout, then the settle delay, then resends to the other server, alternating", async () => {
    const clock = virtualScheduler();
    const endpoints = inprocPair();
    // Nobody listens on either frontend: every attempt times out.
    const client = new BinaryStarClient([endpoints.primary.frontend!, endpoints.backup.frontend!], {
      timeout: 1000,
      settleDelay: 2000,
      retries: 2,
      scheduler: clock,
    });
    const seen: Array<[number, string, string?]> = [];
    client.events$.subscribe((event) => {
      if (event.type === "request-sent" || event.type === "timeout") seen.push([clock.now(), event.type, event.server]);
      else if (event.type === "failover") seen.push([clock.now(), event.type, event.to]);
      else if (event.type === "gave-up") seen.push([clock.now(), event.type]);
    });
    const failed = client.call("anyone?").catch((error: unknown) => error);
    await advanceWithIo(clock, 8000, 250);
    expect(await failed).toMatchObject({ reason: "timeout" });
    expect(seen).toEqual([
      [0, "request-sent", "primary"],
      [1000, "timeout", "primary"],
      [1000, "failover", "backup"],
      [3000, "request-sent", "backup"],
      [4000, "timeout", "backup"],
      [4000, "failover", "primary"],
      [6000, "request-sent", "primary"],
      [7000, "timeout", "primary"],
      [7000, "gave-up"],
    ]);
    await client.close();
  });
});
