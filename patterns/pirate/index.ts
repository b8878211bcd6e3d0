/**
 * The Pirate patterns of the ZeroMQ guide, chapter 4: Lazy Pirate (client
 * retries), Simple Pirate (LRU queue) and Paranoid Pirate (RFC 6/PPP,
 * heartbeating queue and worker).
 *
 * @packageDocumentation
 */
export { LazyPirateClient, type LazyPirateClientOptions } from "./lazy-pirate-client";
export { SimplePirateQueue, type SimplePirateQueueOptions } from "./simple-pirate-queue";
export { SimplePirateWorker, type SimplePirateWorkerOptions } from "./simple-pirate-worker";
export { ParanoidPirateQueue, type ParanoidPirateQueueOptions } from "./paranoid-pirate-queue";
export { ParanoidPirateWorker, type ParanoidPirateWorkerOptions } from "./paranoid-pirate-worker";
export { LruQueue, type PirateQueueOptions, type WorkerMessage as PirateWorkerMessage } from "./lru-queue";
export type { PirateHandler, PirateReply } from "./handler";
export type { PirateQueueEvent, PirateWorkerEvent, LazyPirateEvent } from "./events";
export { PirateError, type PirateErrorCode } from "./errors";
export { PPP_READY, PPP_HEARTBEAT, pppReadyFrame, pppHeartbeatFrame, pppCommand, type PppCommand } from "./ppp";
