import { integerAtLeast as checkInteger } from "../shared/validate";
import { COMMON_CODES, PatternError, type CommonReason, type PatternErrorOptions, type ReasonCodes } from "../shared/errors";

/**
 * Why a Binary Star operation failed; `code` carries the matching errno-style
 * name. The reasons every request/reply pattern shares, see {@link CommonReason}.
 */
export type BinaryStarErrorReason = CommonReason;

const CODES: ReasonCodes<BinaryStarErrorReason> = COMMON_CODES;

/**
 * The one error class of the Binary Star pattern. Like every pattern error
 * it extends {@link PatternError}, a {@link PrivateerError}: switch on
 * `reason` (or on the errno-style `code`); the underlying socket error, if
 * any, is in `cause`, and a `socket` failure keeps that error's code.
 */
export class BinaryStarError extends PatternError<BinaryStarErrorReason> {
  constructor(reason: BinaryStarErrorReason, message: string, options?: PatternErrorOptions) {
    super(reason, message, options, CODES);
  }
}

/** A whole number of at least `min` (intervals, counts); anything else throws `invalid`, by the rule every pattern shares. */
export function integerAtLeast(name: string, value: number, min: number): number {
  return checkInteger(name, value, min, (message) => new BinaryStarError("invalid", message));
}
