import { Backoff } from "../../../patterns/pirate/backoff";
import { Liveness } from "../../../patterns/pirate/liveness";
import { WorkerPool } from "../../../patterns/pirate/worker-pool";

const id = (s: string): Buffer => Buffer.from(s);

describe("Liveness", () => {
  it("declares the peer dead after `liveness` silent intervals, the first interval being grace", () => {
    const liveness = new Liveness(3);
    expect(liveness.tick()).toBe("alive");
    expect(liveness.tick()).toBe("missed");
    expect(liveness.remaining).toBe(2);
    expect(liveness.tick()).toBe("missed");
    expect(liveness.remaining).toBe(1);
    expect(liveness.tick()).toBe("dead");
    expect(liveness.dead).toBe(true);
  });

  it("restores full credit whenever the peer is heard", () => {
    const liveness = new Liveness(3);
    liveness.tick();
    liveness.tick();
    liveness.tick();
    expect(liveness.remaining).toBe(1);
    liveness.heard();
    expect(liveness.remaining).toBe(3);
    expect(liveness.tick()).toBe("alive");
    expect(liveness.tick()).toBe("missed");
  });
});

describe("Backoff", () => {
  it("doubles from the initial delay up to the cap, and restarts after reset", () => {
    const backoff = new Backoff(1000, 32000);
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000]);
    backoff.reset();
    expect(backoff.next()).toBe(1000);
  });
});

describe("WorkerPool", () => {
  it("hands out idle workers least recently used first", () => {
    const pool = new WorkerPool(3);
    pool.ready(id("a"));
    pool.ready(id("b"));
    pool.ready(id("c"));
    expect(pool.take()!.id.toString()).toBe("a");
    // a finishes and goes to the back, behind b and c.
    pool.ready(id("a"));
    expect([pool.take(), pool.take(), pool.take()].map((w) => w!.id.toString())).toEqual(["b", "c", "a"]);
    expect(pool.take()).toBeUndefined();
  });

  it("does not reorder idle workers when they heartbeat", () => {
    const pool = new WorkerPool(3);
    pool.ready(id("a"));
    pool.ready(id("b"));
    pool.ready(id("a"));
    pool.heard(id("a"));
    expect(pool.take()!.id.toString()).toBe("a");
  });

  it("expires silent workers, idle or busy, and keeps the ones that speak", () => {
    const pool = new WorkerPool(2);
    pool.ready(id("quiet"));
    pool.ready(id("chatty"));
    pool.ready(id("busy"));
    // Take quiet and chatty first so busy is the one left idle... then take it too.
    const order = [pool.take(), pool.take(), pool.take()].map((w) => w!.id.toString());
    expect(order).toEqual(["quiet", "chatty", "busy"]);
    pool.ready(id("quiet"));
    expect(pool.tick()).toEqual({ missed: [], expired: [] });
    pool.heard(id("chatty"));
    const second = pool.tick();
    expect(second.missed.map((m) => [m.worker.id.toString(), m.remaining])).toEqual([
      ["quiet", 1],
      ["busy", 1],
    ]);
    pool.heard(id("chatty"));
    const third = pool.tick();
    expect(third.expired.map((w) => [w.id.toString(), w.idle])).toEqual([
      ["quiet", true],
      ["busy", false],
    ]);
    expect(pool.size).toBe(1);
    expect(pool.get(id("quiet"))).toBeUndefined();
    expect(pool.take()).toBeUndefined();
  });
});
