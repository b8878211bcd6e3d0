/**
 * Time budgets shared by the scenarios. The full run must stay under five
 * minutes on a 2-core machine and --quick under one, so windows are short
 * and the rounds, not long windows, absorb the noise.
 */
export interface Timing {
  /** Discarded start of every measurement: JIT compilation, TCP window growth. */
  warmupMs: number;
  /** The measured window. */
  windowMs: number;
  /** A receive that waits this long means the peer stalled: the run fails instead of hanging. */
  stallMs: number;
  /** Peers that only generate load stop by themselves after this long, in case nobody stops them. */
  peerLimitMs: number;
}

/** `windowScale` lengthens the window where a run counts few messages (large sizes), so one hiccup weighs less. */
export function timing(quick: boolean, windowScale = 1): Timing {
  const base = quick
    ? { warmupMs: 100, windowMs: 300, stallMs: 5000, peerLimitMs: 20_000 }
    : { warmupMs: 200, windowMs: 800, stallMs: 5000, peerLimitMs: 30_000 };
  return { ...base, windowMs: Math.round(base.windowMs * windowScale) };
}
