import { COMMON_CODES, PatternError, type PatternErrorOptions, type ReasonCodes } from "../shared/errors";

/** Why a Majordomo operation failed; `code` carries the matching errno-style name. */
export type MajordomoErrorReason =
  /** No reply arrived within `timeout` after every retry. */
  | "timeout"
  /** The client, worker or broker was closed while the operation waited. */
  | "closed"
  /** The broker answered that no worker serves the service (status 404). */
  | "service-unavailable"
  /** The broker kept the request queued until it expired (status 504). */
  | "request-expired"
  /** The broker's queue for the service was full (status 503). */
  | "queue-full"
  /** The worker's handler failed (status 500). */
  | "worker-error"
  /** The broker sent an error status this library does not know. */
  | "broker-error"
  /** A peer sent frames that are not valid MDP. */
  | "protocol"
  /** The caller's AbortSignal fired before the final reply arrived. */
  | "aborted";

const CODES: ReasonCodes<MajordomoErrorReason> = {
  // The reasons Majordomo shares with the other families keep their codes.
  timeout: COMMON_CODES.timeout,
  closed: COMMON_CODES.closed,
  "service-unavailable": "ENOENT",
  "request-expired": "EAGAIN",
  "queue-full": "EAGAIN",
  "worker-error": "EPROTO",
  "broker-error": "EPROTO",
  protocol: "EPROTO",
  aborted: COMMON_CODES.aborted,
};

/**
 * The error every Majordomo component raises. Like every pattern error it
 * extends {@link PatternError}, a {@link PrivateerError}: switch on `reason`
 * (or on `code` for errno-style handling).
 */
export class MajordomoError extends PatternError<MajordomoErrorReason> {
  /** The three-digit status of an error reply, when the error came from one. */
  readonly status?: string;

  constructor(reason: MajordomoErrorReason, message: string, options: PatternErrorOptions & { readonly status?: string } = {}) {
    // Always through an object naming `cause`, so every MajordomoError has the property, as it always had.
    super(reason, message, { cause: options.cause }, CODES);
    if (options.status !== undefined) this.status = options.status;
  }
}
