import { PrivateerError } from "../../src";

/*
 * Option validation shared by every pattern (Pirate and Majordomo), so an
 * option with the same name follows the same rule everywhere. Counts and
 * millisecond intervals are whole numbers, as in the core socket options;
 * a bad value throws the core's PrivateerError with code EINVAL, as a bad
 * socket option does.
 */

/** An option that must be a whole number of at least 1 (intervals, timeouts, liveness, concurrency). */
export function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new PrivateerError("EINVAL", `${name} must be an integer >= 1 (got ${value})`);
  return value;
}

/** An option that must be a whole number of at least 0 (counts where 0 means none or unbounded). */
export function nonNegative(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new PrivateerError("EINVAL", `${name} must be an integer >= 0 (got ${value})`);
  return value;
}
