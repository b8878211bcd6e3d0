/**
 * Majordomo (7/MDP 0.1, 18/MDP 0.2, 8/MMI): a service-oriented broker,
 * workers and clients.
 *
 * These are the names an application needs; the broker engine, the wire
 * encoders and the link plumbing are in `./internal` (`privateer/internal`).
 *
 * @packageDocumentation
 */
export { MajordomoBroker, type MajordomoBrokerOptions, type MajordomoBrokerPairOptions } from "./broker";
export { MajordomoWorker, type MajordomoWorkerOptions, type ServeOptions } from "./worker";
export type { MajordomoRequest, RequestHandler } from "./worker-session";
export { MajordomoClient, MajordomoAsyncClient, type MajordomoClientOptions } from "./client";
export type { BrokerSocketOptions } from "./link";
export type { MajordomoRequestOptions } from "./request-ids";
export type {
  BrokerEvent,
  BrokerEventType,
  BrokerResetReason,
  RequestIds,
  WorkerEvent,
  WorkerEventType,
  WorkerState,
  WorkerDropReason,
  MajordomoClientEvent,
  MajordomoClientEventType,
} from "./events";
export { MajordomoError, type MajordomoErrorReason } from "./errors";
export type { ServiceStatus } from "./service-registry";
export type { Body } from "./frames";
// Options and events name the protocol version, so the type is public.
export type { MdpVersion } from "./protocol";
export { MMI_PREFIX, isMmiService } from "./mmi";
