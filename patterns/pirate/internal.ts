/**
 * Pirate internals: the LRU queue both queues extend and the RFC 6/PPP
 * command frames. For tests and wire-level peers; these names may change
 * between minor versions. Published as `privateer/internal`.
 *
 * @packageDocumentation
 */
export { LruQueue, type WorkerMessage as PirateWorkerMessage } from "./lru-queue";
export { PPP_READY, PPP_HEARTBEAT, pppReadyFrame, pppHeartbeatFrame, pppCommand, type PppCommand } from "./ppp";
