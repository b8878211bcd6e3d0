/**
 * The reliability patterns of the ZeroMQ guide, public names only. A new
 * pattern module adds one `export *` line here and, if it has internals, one
 * in `./internal`.
 */
export * from "./pirate";
export * from "./majordomo";
export * from "./binary-star";
// Per-call options every request/reply client takes (`request(…, { timeout, retries, signal })`); named CallOptions because the REQ socket's options are RequestOptions.
export type { RequestOptions as CallOptions } from "./shared/request-options";
// The base every pattern family's error class extends (PirateError, MajordomoError, BinaryStarError, ExactlyOnceError).
export { PatternError, type CommonReason, type PatternErrorOptions, type ReasonCodes } from "./shared/errors";
// The one handler shape every pattern's worker takes (PirateHandler, RequestHandler are instances of it).
export type { PatternHandler, HandlerResult, HandlerReply } from "./shared/handler";
