/**
 * Binary Star (ZeroMQ guide, chapter 4): a primary and a backup server that
 * exchange their state every heartbeat so that exactly one serves clients,
 * and a client that fails over between them.
 *
 * @packageDocumentation
 */
export { BinaryStar, GUIDE_ENDPOINTS, type BinaryStarOptions, type BinaryStarRequest } from "./server";
export { BinaryStarClient, type BinaryStarClientOptions, type BinaryStarClientConfig } from "./client";
export type { BinaryStarEndpoints, BinaryStarEvent, BinaryStarEventType, BinaryStarClientEvent, BinaryStarClientEventType } from "./events";
export { BinaryStarError, type BinaryStarErrorReason } from "./errors";
export type { BinaryStarRole, BinaryStarState, BinaryStarFsmEvent, SplitBrain, RejectReason as BinaryStarRejectReason } from "./fsm";
