/** Error codes raised by the Pirate patterns. */
export type PirateErrorCode =
  /** A request got no reply within its timeout after every retry. */
  | "ETIMEDOUT"
  /** The client, queue or worker was closed while the operation was pending. */
  | "ECLOSED"
  /** An option value is invalid. */
  | "EINVAL"
  /** A socket operation failed underneath the pattern (see `cause`). */
  | "ESOCKET";

/**
 * The one error class of the Pirate patterns. Switch on `code`; the
 * underlying socket error, if any, is in `cause`.
 */
export class PirateError extends Error {
  readonly code: PirateErrorCode;

  constructor(code: PirateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "PirateError";
  }
}
