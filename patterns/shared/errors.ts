import { PrivateerError, type ErrorCode } from "../../src/errors";

/** What every pattern error's constructor takes after the reason and the message. */
export interface PatternErrorOptions {
  /** The error underneath (a socket's, a database driver's, a handler's). */
  readonly cause?: unknown;
}

/**
 * The errno-style code of each reason of one pattern family. `"cause"`
 * marks a reason that reports a failure underneath the pattern: it keeps
 * the code of a PrivateerError cause, so errno-style handling sees the real
 * failure, and is EPROTO for any other cause.
 */
export type ReasonCodes<Reason extends string> = Readonly<Record<Reason, ErrorCode | "cause">>;

/**
 * The reasons a request/reply pattern shares (Pirate, Binary Star) and
 * their codes; Majordomo maps the ones it has the same way.
 */
export type CommonReason =
  /** No reply arrived within the timeout, after every retry or attempt. */
  | "timeout"
  /** The component was closed while the operation was pending. */
  | "closed"
  /** The caller's AbortSignal fired before the reply arrived. */
  | "aborted"
  /** A value given to the pattern is invalid (an option, a handler's empty reply), or a call came in the wrong state. */
  | "invalid"
  /** A socket operation failed underneath the pattern (see `cause`). */
  | "socket";

/** The codes of the {@link CommonReason}s: one table, so the families cannot drift apart. */
export const COMMON_CODES: ReasonCodes<CommonReason> = {
  timeout: "EAGAIN",
  closed: "EBADF",
  aborted: "ECANCELED",
  invalid: "EINVAL",
  socket: "cause",
};

/**
 * The base of every pattern family's error (Pirate, Majordomo, Binary Star,
 * exactly-once). Like every Privateer error it is a {@link PrivateerError}
 * with an errno-style `code`; on top it carries the family's `reason`, the
 * finer cause to switch on. Each family's class fixes the reasons and the
 * code of each, and keeps the constructor shape
 * `(reason, message, { cause })`.
 */
export abstract class PatternError<Reason extends string = string> extends PrivateerError {
  /** Why the operation failed, in the family's own terms. */
  readonly reason: Reason;

  protected constructor(reason: Reason, message: string, options: PatternErrorOptions | undefined, codes: ReasonCodes<Reason>) {
    const code = codes[reason];
    const cause = options?.cause;
    // Only an options object that names a cause gives the error a `cause` property, as with Error itself.
    super(
      code === "cause" ? (cause instanceof PrivateerError ? cause.code : "EPROTO") : code,
      message,
      options !== undefined && "cause" in options ? { cause } : undefined,
    );
    this.reason = reason;
  }
}
