import { integerAtLeast as checkInteger } from "../shared/validate";
import { PatternError, type PatternErrorOptions, type ReasonCodes } from "../shared/errors";

/** Why a Binary Star operation failed; `code` carries the matching errno-style name. */
export type BinaryStarErrorReason =
  /** The failover client got no reply from either server within its attempts. */
  | "timeout"
  /** The server or client was closed while the operation was pending. */
  | "closed"
  /** The caller's AbortSignal fired before the reply arrived. */
  | "aborted"
  /** An option value is invalid, or a call came in the wrong state (e.g. `start()` twice). */
  | "invalid"
  /** A socket operation failed underneath the pattern (see `cause`). */
  | "socket";

const CODES: ReasonCodes<BinaryStarErrorReason> = {
  timeout: "EAGAIN",
  closed: "EBADF",
  aborted: "ECANCELED",
  invalid: "EINVAL",
  socket: "cause",
};

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
