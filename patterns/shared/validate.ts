import { PrivateerError } from "../../src";

/*
 * The one option validator of every pattern (Pirate, Majordomo, Binary
 * Star), so an option with the same name follows the same rule, and fails
 * with the same message, everywhere. Counts and millisecond intervals are
 * whole numbers, as in the core socket options; a bad value throws the
 * core's PrivateerError with code EINVAL, as a bad socket option does,
 * unless the caller names the error its family throws (Binary Star's
 * `invalid`, also EINVAL).
 */

/** Builds the error for a rejected value from its message. */
export type InvalidError = (message: string) => Error;

const einval: InvalidError = (message) => new PrivateerError("EINVAL", message);

/** An option that must be a whole number of at least `min`. */
export function integerAtLeast(name: string, value: number, min: number, invalid: InvalidError = einval): number {
  if (!Number.isInteger(value) || value < min) throw invalid(`${name} must be an integer >= ${min} (got ${value})`);
  return value;
}

/** An option that must be a whole number of at least 1 (intervals, timeouts, liveness, concurrency). */
export function positive(name: string, value: number): number {
  return integerAtLeast(name, value, 1);
}

/** An option that must be a whole number of at least 0 (counts where 0 means none or unbounded). */
export function nonNegative(name: string, value: number): number {
  return integerAtLeast(name, value, 0);
}
