/**
 * The Binary Star state table, row by row, on the pure state machine: every
 * (state, event) pair, the clock conditions of the client vote, and the
 * split-brain rules. Time is a number the test passes: nothing waits.
 */
import {
  afterStall,
  binaryStarStep as step,
  decodeState,
  encodeState,
  initialContext,
  isFenced,
  isStall,
  type BinaryStarFsmContext as FsmContext,
  type BinaryStarFsmEvent,
  type BinaryStarRole,
  type BinaryStarState,
} from "privateer/internal";

const WINDOW = 2000;
const T0 = 10_000;

function context(state: BinaryStarState, overrides: Partial<FsmContext> = {}): FsmContext {
  const role: BinaryStarRole = state === "backup" ? "backup" : "primary";
  return { ...initialContext(role, WINDOW, T0), state, ...overrides };
}

describe("Binary Star state table", () => {
  // [state, event, now relative to T0 (the peer expiry is T0 + WINDOW), next state, served (client requests only)]
  const rows: Array<[BinaryStarState, BinaryStarFsmEvent, number, BinaryStarState, boolean | undefined]> = [
    ["primary", "peer-primary", 0, "primary", undefined],
    ["primary", "peer-backup", 0, "active", undefined],
    ["primary", "peer-active", 0, "passive", undefined],
    ["primary", "peer-passive", 0, "primary", undefined],
    ["primary", "client-request", WINDOW - 1, "primary", false],
    ["primary", "client-request", WINDOW, "active", true],
    ["backup", "peer-primary", 0, "backup", undefined],
    ["backup", "peer-backup", 0, "backup", undefined],
    ["backup", "peer-active", 0, "passive", undefined],
    ["backup", "peer-passive", 0, "backup", undefined],
    ["backup", "client-request", 0, "backup", false],
    // A backup that never met its primary does not serve, even long after: the guide's rule.
    ["backup", "client-request", 100 * WINDOW, "backup", false],
    ["active", "peer-primary", 0, "active", undefined],
    ["active", "peer-backup", 0, "active", undefined],
    ["active", "peer-passive", 0, "active", undefined],
    ["active", "client-request", 0, "active", true],
    ["passive", "peer-primary", 0, "active", undefined],
    ["passive", "peer-backup", 0, "active", undefined],
    ["passive", "peer-active", 0, "passive", undefined],
    ["passive", "client-request", WINDOW - 1, "passive", false],
    ["passive", "client-request", WINDOW, "active", true],
  ];

  it.each(rows)("%s + %s at T0+%i → %s (served: %s)", (state, event, dt, next, served) => {
    const result = step(context(state), event, T0 + dt, event === "client-request" ? undefined : 0);
    expect(result.context.state).toBe(next);
    expect(result.serve).toBe(served);
    expect(result.splitBrain).toBeUndefined();
  });

  it("covers every (state, event) pair, plus the two sides of each clock condition", () => {
    const pairs = new Set(rows.map(([state, event]) => `${state}/${event}`));
    // peer-active on active and peer-passive on passive are the split-brain rows, tested below.
    expect(pairs.size + 2).toBe(4 * 5);
  });

  it("says why a request is refused", () => {
    expect(step(context("backup"), "client-request", T0).rejected).toBe("not-ready");
    expect(step(context("passive"), "client-request", T0).rejected).toBe("peer-alive");
    expect(step(context("primary"), "client-request", T0).rejected).toBe("peer-alive");
    expect(step(context("active", { fencedUntil: T0 + 1 }), "client-request", T0).rejected).toBe("fenced");
  });

  it("refreshes the peer expiry on every state message, so a live peer is never taken over", () => {
    let ctx = context("passive");
    for (let t = T0; t < T0 + 10 * WINDOW; t += WINDOW / 2) {
      ctx = step(ctx, "peer-active", t, 1).context;
      expect(step(ctx, "client-request", t + WINDOW - 1).serve).toBe(false);
    }
    expect(ctx.peerExpiry).toBe(T0 + 10 * WINDOW - WINDOW / 2 + WINDOW);
    // Silent for the whole window: the next vote takes over.
    expect(step(ctx, "client-request", ctx.peerExpiry).context.state).toBe("active");
  });

  it("raises the term past the peer's at each takeover", () => {
    const primary = step(context("primary"), "peer-backup", T0, 0).context;
    expect(primary.term).toBe(1);
    const backup = step(context("backup"), "peer-active", T0, primary.term).context;
    expect(backup).toMatchObject({ state: "passive", term: 0, peerTerm: 1 });
    const takeover = step(backup, "client-request", T0 + WINDOW);
    expect(takeover.context).toMatchObject({ state: "active", term: 2 });
    // A guide peer sends no term: the last one heard is kept.
    expect(step(takeover.context, "peer-primary", T0 + WINDOW, undefined).context.peerTerm).toBe(1);
  });
});

describe("split brain", () => {
  it.each([
    // [our role, our term, peer term, resolution, rule]
    ["primary", 1, 2, "stepped-down", "term"],
    ["backup", 1, 2, "stepped-down", "term"],
    ["primary", 3, 2, "stayed-active", "term"],
    ["backup", 3, 2, "stayed-active", "term"],
    ["primary", 2, 2, "stayed-active", "role"],
    ["backup", 2, 2, "stepped-down", "role"],
    ["primary", 5, undefined, "stepped-down", "no-peer-term"],
    ["backup", 5, undefined, "stepped-down", "no-peer-term"],
  ] as const)("dual active: %s with term %i against peer term %s → %s (%s rule)", (role, term, peerTerm, resolution, rule) => {
    const ctx: FsmContext = { ...initialContext(role, WINDOW, T0), state: "active", term };
    const result = step(ctx, "peer-active", T0, peerTerm);
    expect(result.splitBrain).toEqual({ kind: "dual-active", resolution, rule, term, peerTerm });
    expect(result.context.state).toBe(resolution === "stepped-down" ? "passive" : "active");
    // The peer is alive: its expiry is refreshed even by a conflicting message.
    expect(result.context.peerExpiry).toBe(T0 + WINDOW);
  });

  it("both sides of a dual active agree: exactly one stays active, whatever the roles and terms", () => {
    for (const [a, b] of [[1, 2], [2, 1], [3, 3]] as const) {
      const primary: FsmContext = { ...initialContext("primary", WINDOW, T0), state: "active", term: a };
      const backup: FsmContext = { ...initialContext("backup", WINDOW, T0), state: "active", term: b };
      const p = step(primary, "peer-active", T0, b).context.state;
      const q = step(backup, "peer-active", T0, a).context.state;
      expect([p, q].filter((s) => s === "active")).toHaveLength(1);
    }
  });

  it.each([
    ["primary", "took-over", "active", 8],
    ["backup", "stayed-passive", "passive", 3],
  ] as const)("dual passive: the %s %s", (role, resolution, next, term) => {
    const ctx: FsmContext = { ...initialContext(role, WINDOW, T0), state: "passive", term: 3 };
    const result = step(ctx, "peer-passive", T0, 7);
    expect(result.splitBrain).toEqual({ kind: "dual-passive", resolution, rule: "role", term, peerTerm: 7 });
    expect(result.context.state).toBe(next);
  });

  it("dual passive against a peer that sends no term still resolves: the primary takes over", () => {
    const ctx: FsmContext = { ...initialContext("primary", WINDOW, T0), state: "passive" };
    expect(step(ctx, "peer-passive", T0, undefined).context).toMatchObject({ state: "active", term: 1 });
  });
});

describe("stall fence", () => {
  it("a gap of a whole window is a stall, anything shorter is not", () => {
    const ctx = context("active");
    expect(isStall(ctx, WINDOW - 1)).toBe(false);
    expect(isStall(ctx, WINDOW)).toBe(true);
  });

  it("a thawed active serves nothing for one window, then serves again if nobody took over", () => {
    const thawed = afterStall(context("active"), T0);
    expect(isFenced(thawed, T0)).toBe(true);
    expect(step(thawed, "client-request", T0 + WINDOW - 1)).toMatchObject({ serve: false, rejected: "fenced" });
    expect(step(thawed, "client-request", T0 + WINDOW)).toMatchObject({ serve: true });
    expect(isFenced(thawed, T0 + WINDOW)).toBe(false);
  });

  it("a thawed active that hears its peer took over with a higher term steps down", () => {
    const thawed = afterStall({ ...context("active"), term: 1 }, T0);
    const result = step(thawed, "peer-active", T0 + 1, 2);
    expect(result.context.state).toBe("passive");
    expect(result.splitBrain).toMatchObject({ kind: "dual-active", resolution: "stepped-down", rule: "term" });
  });

  it("a thawed passive does not take over on a vote before it has heard its peer for one window", () => {
    // The peer expiry passed long ago (the freeze), but the peer's state messages are still unread.
    const stale = context("passive", { peerExpiry: T0 - 5 * WINDOW });
    expect(step(stale, "client-request", T0).serve).toBe(true);
    const thawed = afterStall(stale, T0);
    expect(step(thawed, "client-request", T0 + WINDOW - 1)).toMatchObject({ serve: false, rejected: "peer-alive" });
  });
});

describe("state message codec", () => {
  it("is the guide's digit frame, then the term frame", () => {
    const ctx: FsmContext = { ...context("active"), term: 12 };
    expect(encodeState(ctx, false)).toEqual(["3"]);
    expect(encodeState(ctx, true)).toEqual(["3", "term:12"]);
    expect(decodeState([Buffer.from("3"), Buffer.from("term:12")])).toEqual({ ok: true, state: "active", term: 12 });
  });

  it("takes a guide server's single frame, and ignores a second frame that is not a term", () => {
    expect(decodeState([Buffer.from("4")])).toEqual({ ok: true, state: "passive", term: undefined });
    expect(decodeState([Buffer.from("1"), Buffer.from("hello")])).toEqual({ ok: true, state: "primary", term: undefined });
  });

  it.each([["5"], ["0"], ["33"], [""], ["3 "]])("refuses state %j", (digit) => {
    expect(decodeState([Buffer.from(digit)]).ok).toBe(false);
  });

  it("refuses a malformed term", () => {
    expect(decodeState([Buffer.from("3"), Buffer.from("term:x")]).ok).toBe(false);
    expect(decodeState([Buffer.from("3"), Buffer.from("term:-1")]).ok).toBe(false);
  });

  it("starts the term frame with a letter, so a reader that parses it as a state number gets 0, no state", () => {
    const frame = encodeState(context("active"), true)[1]!;
    expect(Number.parseInt(frame, 10)).toBeNaN();
  });
});
