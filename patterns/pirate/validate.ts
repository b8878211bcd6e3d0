import { PirateError } from "./errors";

/** An option that must be a whole number of at least 1 (intervals, liveness, timeouts). */
export function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new PirateError("EINVAL", `${name} must be an integer >= 1`);
  return value;
}

/** An option that must be a whole number of at least 0 (counts where 0 means none or unbounded). */
export function nonNegative(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new PirateError("EINVAL", `${name} must be an integer >= 0`);
  return value;
}
