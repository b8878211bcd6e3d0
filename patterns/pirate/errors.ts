import type { ErrorCode } from "../../src";
import { PatternError, type PatternErrorOptions, type ReasonCodes } from "../shared/errors";

/** Why a Pirate operation failed; `code` carries the matching errno-style name. */
export type PirateErrorReason =
  /** A request got no reply within its timeout after every retry. */
  | "timeout"
  /** The client, queue or worker was closed while the operation was pending. */
  | "closed"
  /** The caller's AbortSignal fired before the reply arrived. */
  | "aborted"
  /** A value given to the pattern is invalid (e.g. a handler's empty reply), or a call came in the wrong state. */
  | "invalid"
  /** A socket operation failed underneath the pattern (see `cause`). */
  | "socket";

/** The errno-style code of each reason; the same mapping MajordomoError uses for the reasons both share. */
const CODES: ReasonCodes<PirateErrorReason> = {
  timeout: "EAGAIN",
  closed: "EBADF",
  aborted: "ECANCELED",
  invalid: "EINVAL",
  socket: "cause",
};

/**
 * The one error class of the Pirate patterns. Like every pattern error it
 * extends {@link PatternError}, a {@link PrivateerError}: switch on `reason`
 * (or on the errno-style `code`); the underlying socket error, if any, is in
 * `cause`, and a `socket` failure keeps that error's code.
 */
export class PirateError extends PatternError<PirateErrorReason> {
  constructor(reason: PirateErrorReason, message: string, options?: PatternErrorOptions) {
    super(reason, message, options, CODES);
  }
}

/**
 * The codes a PirateError may carry: the errno-style names every Privateer
 * error uses. Kept under its old name for importers; switch on
 * {@link PirateErrorReason} for the Pirate-level cause.
 */
export type PirateErrorCode = ErrorCode;
