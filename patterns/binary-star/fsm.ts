/**
 * The Binary Star state machine without any I/O: what a server does with
 * one event, given the time. The socket-owning {@link BinaryStar} class
 * feeds it peer state messages, client votes and heartbeat ticks; tests
 * drive it directly, row by row, in virtual time.
 *
 * The four states and their wire digits are the guide's (chapter 4); the
 * term rule and the stall fence are Privateer's additions so that a split
 * brain is resolved instead of aborting the process.
 */

/** Which server of the pair this is, fixed by configuration. */
export type BinaryStarRole = "primary" | "backup";

/**
 * Where a server is. `primary` and `backup` are the starting states (the
 * server has not yet settled with its peer); `active` serves clients,
 * `passive` stands by.
 */
export type BinaryStarState = "primary" | "backup" | "active" | "passive";

/** What can happen to a server: the peer announced its state, or a client request (a vote) arrived. */
export type BinaryStarFsmEvent = "peer-primary" | "peer-backup" | "peer-active" | "peer-passive" | "client-request";

/** The guide's wire digits: a state message is one frame holding one of these as ASCII. */
export const STATE_DIGIT: Readonly<Record<BinaryStarState, string>> = {
  primary: "1",
  backup: "2",
  active: "3",
  passive: "4",
};

const DIGIT_STATE: Readonly<Record<string, BinaryStarState>> = {
  "1": "primary",
  "2": "backup",
  "3": "active",
  "4": "passive",
};

/** The peer event a state message announces. */
export function peerEvent(state: BinaryStarState): Exclude<BinaryStarFsmEvent, "client-request"> {
  return `peer-${state}`;
}

/** How a dual-active or dual-passive pair was detected and what this server did about it. */
export interface SplitBrain {
  readonly kind: "dual-active" | "dual-passive";
  /**
   * What this server did: `stepped-down` (active → passive), `stayed-active`,
   * `took-over` (passive → active) or `stayed-passive`.
   */
  readonly resolution: "stepped-down" | "stayed-active" | "took-over" | "stayed-passive";
  /**
   * Which rule decided: `term` (both sent terms and they differ), `role`
   * (equal terms, or any dual-passive: the primary wins), `no-peer-term`
   * (the peer sends no term, as the guide's servers do: this server yields).
   */
  readonly rule: "term" | "role" | "no-peer-term";
  /** This server's term after the resolution. */
  readonly term: number;
  /** The term the peer announced with the conflicting state, if it sends terms. */
  readonly peerTerm: number | undefined;
}

/** Everything the machine decides on; immutable, each step returns a new one. */
export interface FsmContext {
  readonly role: BinaryStarRole;
  readonly state: BinaryStarState;
  /**
   * Grows at each transition to active, past any term heard from the peer,
   * so the most recent takeover always holds the highest term.
   */
  readonly term: number;
  /** The last term the peer announced; `undefined` while it has sent none (a guide server never does). */
  readonly peerTerm: number | undefined;
  /** When the peer counts as dead (ms, scheduler clock): last state message heard + `window`. */
  readonly peerExpiry: number;
  /** Until when this server refuses to serve because its own view may be stale (after a stall). */
  readonly fencedUntil: number;
  /** Peer expiry window in ms: heartbeat × expiry multiplier (guide: 2 × 1,000). */
  readonly window: number;
}

/** Why a client request was not served. */
export type RejectReason =
  /** A backup that has not yet met its primary never serves (the guide's rule). */
  | "not-ready"
  /** A passive or starting server whose peer is still alive: the peer serves. */
  | "peer-alive"
  /** An active server fenced after a stall: its peer may have taken over meanwhile. */
  | "fenced";

/** The outcome of one event. */
export interface FsmStep {
  readonly context: FsmContext;
  /** For a client request: whether to serve it. Absent for peer events. */
  readonly serve?: boolean;
  readonly rejected?: RejectReason;
  readonly splitBrain?: SplitBrain;
}

/** The context a server starts with: the peer is given one full window to show up. */
export function initialContext(role: BinaryStarRole, window: number, now: number): FsmContext {
  return { role, state: role, term: 0, peerTerm: undefined, peerExpiry: now + window, fencedUntil: now, window };
}

/** The state a wire digit stands for, or undefined for anything else. */
export function stateOfDigit(digit: string): BinaryStarState | undefined {
  return Object.prototype.hasOwnProperty.call(DIGIT_STATE, digit) ? DIGIT_STATE[digit] : undefined;
}

function becomeActive(context: FsmContext, peerTerm: number | undefined = context.peerTerm): FsmContext {
  return { ...context, state: "active", term: Math.max(context.term, peerTerm ?? 0) + 1 };
}

/**
 * Applies a state message from the peer (`peerTerm` is its term frame, if
 * it sent one) at time `now`. Every message refreshes the peer's expiry,
 * including one that causes a split-brain resolution: the peer is alive.
 */
export function onPeerState(context: FsmContext, peer: BinaryStarState, peerTerm: number | undefined, now: number): FsmStep {
  const heard: FsmContext = {
    ...context,
    peerTerm: peerTerm ?? context.peerTerm,
    peerExpiry: now + context.window,
  };
  switch (context.state) {
    case "primary":
      if (peer === "backup") return { context: becomeActive(heard, peerTerm) };
      if (peer === "active") return { context: { ...heard, state: "passive" } };
      // Another primary (misconfiguration) or a passive peer that will take over on seeing us: wait.
      return { context: heard };
    case "backup":
      if (peer === "active") return { context: { ...heard, state: "passive" } };
      return { context: heard };
    case "active":
      if (peer === "active") return dualActive(heard, peerTerm);
      // The peer is (re)starting or standing by: we stay the one that serves.
      return { context: heard };
    case "passive":
      // The peer restarted: it will see us active and settle as passive.
      if (peer === "primary" || peer === "backup") return { context: becomeActive(heard, peerTerm) };
      if (peer === "passive") return dualPassive(heard, peerTerm);
      return { context: heard };
  }
}

/**
 * Two actives: the one with the lower term has been overtaken (it froze or
 * lost its link, and its peer took over on a client vote), so it steps
 * down. Equal terms: the backup steps down. A peer that sends no term
 * cannot take part in the rule, so this server yields: at worst the pair is
 * without an active until the next client vote, never with two.
 */
function dualActive(context: FsmContext, peerTerm: number | undefined): FsmStep {
  const passive: FsmContext = { ...context, state: "passive" };
  const split = (next: FsmContext, resolution: SplitBrain["resolution"], rule: SplitBrain["rule"]): FsmStep => ({
    context: next,
    splitBrain: { kind: "dual-active", resolution, rule, term: next.term, peerTerm },
  });
  if (peerTerm === undefined) return split(passive, "stepped-down", "no-peer-term");
  if (peerTerm > context.term) return split(passive, "stepped-down", "term");
  if (peerTerm < context.term) return split(context, "stayed-active", "term");
  return context.role === "backup" ? split(passive, "stepped-down", "role") : split(context, "stayed-active", "role");
}

/**
 * Two passives: nobody serves and, since each hears the other, no client
 * vote would ever make either active. Neither is stale (neither serves), so
 * the configured role decides: the primary takes over, the backup stays.
 */
function dualPassive(context: FsmContext, peerTerm: number | undefined): FsmStep {
  const next = context.role === "primary" ? becomeActive(context, peerTerm) : context;
  return {
    context: next,
    splitBrain: {
      kind: "dual-passive",
      resolution: context.role === "primary" ? "took-over" : "stayed-passive",
      rule: "role",
      term: next.term,
      peerTerm,
    },
  };
}

/**
 * A client request (the client's vote) at time `now`: whether to serve it,
 * and whether it makes this server active. A passive server takes over only
 * when its peer has been silent for the whole window: the client could not
 * get an answer from the peer, and we cannot hear it either. A broken link
 * between the servers alone never does it, since no client votes while the
 * active still answers.
 */
export function onClientRequest(context: FsmContext, now: number): FsmStep {
  switch (context.state) {
    case "active":
      if (now < context.fencedUntil) return { context, serve: false, rejected: "fenced" };
      return { context, serve: true };
    case "backup":
      return { context, serve: false, rejected: "not-ready" };
    case "primary":
    case "passive":
      if (now < context.peerExpiry) return { context, serve: false, rejected: "peer-alive" };
      return { context: becomeActive(context), serve: true };
  }
}

/** Dispatches one event by name; the same table as {@link onPeerState} and {@link onClientRequest}. */
export function step(context: FsmContext, event: BinaryStarFsmEvent, now: number, peerTerm?: number): FsmStep {
  if (event === "client-request") return onClientRequest(context, now);
  return onPeerState(context, event.slice("peer-".length) as BinaryStarState, peerTerm, now);
}

/**
 * The server's own loop did not run for `gap` ms, at least the whole peer
 * window: it has been frozen (SIGSTOP, a VM pause, a long GC) and everything
 * it knows about its peer is stale. The peer may have declared it dead and
 * taken over on a client vote; the proof (a state message) may still be
 * unread. For one more window it therefore neither serves (an active is
 * fenced) nor takes over (a passive's peer expiry is pushed back), which is
 * long enough to hear at least one fresh state message from a live peer.
 */
export function isStall(context: FsmContext, gap: number): boolean {
  return gap >= context.window;
}

/** The context after a stall detected at `now`: see {@link isStall}. */
export function afterStall(context: FsmContext, now: number): FsmContext {
  return { ...context, fencedUntil: now + context.window, peerExpiry: Math.max(context.peerExpiry, now + context.window) };
}

/** Whether a state message should be published now; a fenced server stays quiet so a stale "active" cannot unsettle a peer that took over. */
export function isFenced(context: FsmContext, now: number): boolean {
  return now < context.fencedUntil;
}

/** Encodes this server's state message: the guide's digit frame, and the term frame when terms are on. */
export function encodeState(context: FsmContext, withTerm: boolean): string[] {
  return withTerm ? [STATE_DIGIT[context.state], `${TERM_PREFIX}${context.term}`] : [STATE_DIGIT[context.state]];
}

/**
 * The term frame is `term:<decimal>`. It starts with a letter so that a
 * guide server that reads frames one at a time (C `s_recv`) and sees it as a
 * message of its own parses it as event 0 (`atoi`), which matches no row of
 * its table, rather than as a state digit.
 */
export const TERM_PREFIX = "term:";

/** A decoded state message, or why it was refused. */
export type DecodedState =
  | { readonly ok: true; readonly state: BinaryStarState; readonly term: number | undefined }
  | { readonly ok: false; readonly reason: string };

/** Decodes a state message: a digit frame, optionally followed by a term frame; extra frames are ignored. */
export function decodeState(frames: readonly Buffer[]): DecodedState {
  const digit = frames[0]?.toString("latin1") ?? "";
  const state = stateOfDigit(digit);
  if (!state) return { ok: false, reason: `unknown state ${JSON.stringify(digit.slice(0, 16))}` };
  const termFrame = frames[1]?.toString("latin1");
  if (termFrame === undefined || !termFrame.startsWith(TERM_PREFIX)) return { ok: true, state, term: undefined };
  const text = termFrame.slice(TERM_PREFIX.length);
  const term = /^[0-9]{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(term)) return { ok: false, reason: `bad term ${JSON.stringify(termFrame.slice(0, 24))}` };
  return { ok: true, state, term };
}
