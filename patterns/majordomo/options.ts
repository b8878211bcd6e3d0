import { PrivateerError } from "../../src";

/** Validates a numeric option that must be > 0. */
export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new PrivateerError("EINVAL", `${name} must be > 0`);
  return value;
}

/** Validates a numeric option that must be >= 0. */
export function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new PrivateerError("EINVAL", `${name} must be >= 0`);
  return value;
}
