/**
 * The Pirate patterns of the ZeroMQ guide, chapter 4: Lazy Pirate (client
 * retries), Simple Pirate (LRU queue) and Paranoid Pirate (RFC 6/PPP,
 * heartbeating queue and worker).
 *
 * These are the names an application needs; the queue base class and the PPP
 * frames are in `./internal` (`privateer/internal`).
 *
 * @packageDocumentation
 */
export { LazyPirateClient, type LazyPirateClientOptions, type LazyPirateClientConfig } from "./lazy-pirate-client";
export { SimplePirateQueue, type SimplePirateQueueOptions } from "./simple-pirate-queue";
export { SimplePirateWorker, type SimplePirateWorkerConfig, type SimplePirateWorkerOptions } from "./simple-pirate-worker";
export { ParanoidPirateQueue, type ParanoidPirateQueueOptions } from "./paranoid-pirate-queue";
export { ParanoidPirateWorker, type ParanoidPirateWorkerConfig, type ParanoidPirateWorkerOptions } from "./paranoid-pirate-worker";
export type { PirateQueueOptions, PirateQueueState } from "./lru-queue";
export type { PirateHandler, PirateReply } from "./handler";
export type { PirateQueueEvent, PirateWorkerEvent, PirateWorkerState, LazyPirateEvent } from "./events";
export { PirateError, type PirateErrorCode, type PirateErrorReason } from "./errors";
