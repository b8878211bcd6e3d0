import type { ErrorCode } from "../../src";
import { COMMON_CODES, PatternError, type CommonReason, type PatternErrorOptions, type ReasonCodes } from "../shared/errors";

/**
 * Why a Pirate operation failed; `code` carries the matching errno-style
 * name. The reasons every request/reply pattern shares, see {@link CommonReason}.
 */
export type PirateErrorReason = CommonReason;

/** The errno-style code of each reason; the same mapping MajordomoError uses for the reasons both share. */
const CODES: ReasonCodes<PirateErrorReason> = COMMON_CODES;

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
