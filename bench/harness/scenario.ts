import type { ImplName } from "./lib";
import type { PeerProcess } from "./peer-process";
import type { Params } from "./protocol";

export type Better = "higher" | "lower";

/** One run's outcome: the headline figure and any side figures worth reporting. */
export interface Measurement {
  value: number;
  extra?: Record<string, number>;
}

/** Medians over the rounds, field by field. */
export interface Summary {
  value: number;
  extra: Record<string, number>;
}

/**
 * What the issue asks of Privateer. A ratio target compares the medians of
 * Privateer and zeromq.js (privateer / zeromq.js, whichever way is better);
 * a limit target is an absolute bound checked on Privateer's medians.
 */
export type Target =
  | { readonly kind: "ratio"; readonly text: string; readonly atLeast?: number; readonly atMost?: number }
  | { readonly kind: "limit"; readonly text: string; met(privateer: Summary): boolean };

/**
 * A further goal on one of a scenario's side figures (a key of its
 * `extras`), checked on Privateer's median of that figure. It gets a verdict
 * of its own: a row under the scenario's in the results table, and a line in
 * the console report. Figures of one run (say, a client against a raw socket
 * through the same broker) can so each have their goal without one verdict
 * hiding the other.
 */
export interface SideTarget {
  /** The key of `extras` the bound applies to. */
  readonly figure: string;
  readonly text: string;
  readonly atLeast?: number;
  readonly atMost?: number;
  /**
   * When set, the bounds apply to Privateer's median of the figure divided
   * by this implementation's median of it (a p99 latency against
   * zeromq.js's, say), not to Privateer's figure itself.
   */
  readonly versus?: Exclude<ImplName, "privateer">;
}

export interface Unreported {
  readonly fields: readonly string[];
  readonly why: string;
}

export interface RunContext {
  readonly impl: ImplName;
  readonly quick: boolean;
  /**
   * Starts a peer running `role` for this run's implementation, or, with
   * `stub`, a library-free raw ZMTP peer. Every peer is stopped when the run ends.
   */
  peer(role: string, params: Params, as?: "stub"): PeerProcess;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly metric: { readonly label: string; readonly unit: string; readonly better: Better };
  /** Labels and units of `Measurement.extra` fields, in display order. */
  readonly extras?: Readonly<Record<string, { readonly label: string; readonly unit: string }>>;
  readonly target?: Target;
  /** Goals on side figures, each with its own verdict (see SideTarget). */
  readonly sideTargets?: readonly SideTarget[];
  readonly impls: readonly ImplName[];
  /**
   * Why the scenario cannot run on this machine (a baseline program it
   * starts is not installed), or undefined when it can. A scenario that
   * says why is skipped with that message, and is no failure of the run.
   */
  unavailable?(): string | undefined;
  /**
   * Figures an implementation cannot report ("value" for the headline, or
   * keys of `extras`), with the reason: the JS heap of a C program, say.
   * `measure()` returns NaN for them; every other figure of every run must
   * be a finite number, or the run counts as failed.
   */
  readonly unreported?: Readonly<Partial<Record<ImplName, Unreported>>>;
  readonly rounds: { readonly full: number; readonly quick: number };
  /** Throughput scenarios put a point on the size chart. */
  readonly chartSize?: number;
  /** Adds the scenario's figures to the size chart and the table only when set. */
  readonly inTable: boolean;
  measure(ctx: RunContext): Promise<Measurement>;
}

export const ALL_IMPLS: readonly ImplName[] = ["privateer", "zeromq.js", "libzmq"];

/** How long a peer may take to start and report ready (Node loads the library first). */
export const START_TIMEOUT_MS = 20_000;
