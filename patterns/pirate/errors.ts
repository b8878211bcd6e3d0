import { PrivateerError, type ErrorCode } from "../../src";

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
const CODES: Record<Exclude<PirateErrorReason, "socket">, ErrorCode> = {
  timeout: "EAGAIN",
  closed: "EBADF",
  aborted: "ECANCELED",
  invalid: "EINVAL",
};

/**
 * The one error class of the Pirate patterns. Like every Privateer error it
 * extends {@link PrivateerError}: switch on `reason` (or on the errno-style
 * `code`); the underlying socket error, if any, is in `cause`.
 */
export class PirateError extends PrivateerError {
  readonly reason: PirateErrorReason;

  constructor(reason: PirateErrorReason, message: string, options?: { cause?: unknown }) {
    // A socket failure keeps the socket's own code, so errno-style handling sees the real cause.
    const code = reason === "socket" ? (options?.cause instanceof PrivateerError ? options.cause.code : "EPROTO") : CODES[reason];
    super(code, message, options);
    this.reason = reason;
  }
}

/**
 * The codes a PirateError may carry: the errno-style names every Privateer
 * error uses. Kept under its old name for importers; switch on
 * {@link PirateErrorReason} for the Pirate-level cause.
 */
export type PirateErrorCode = ErrorCode;
