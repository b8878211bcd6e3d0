/**
 * Majordomo (7/MDP 0.1, 18/MDP 0.2, 8/MMI): a service-oriented broker,
 * workers and clients.
 *
 * @packageDocumentation
 */
export { MajordomoBroker, type MajordomoBrokerOptions } from "./broker";
export { BrokerEngine, type BrokerEngineOptions } from "./broker-engine";
export { MajordomoWorker, type MajordomoWorkerOptions } from "./worker";
export type { MajordomoRequest, RequestHandler } from "./worker-session";
export { MajordomoClient } from "./client";
export { MajordomoAsyncClient } from "./async-client";
export type { MajordomoClientOptions } from "./client-options";
export type {
  BrokerEvent,
  BrokerEventType,
  WorkerEvent,
  WorkerEventType,
  WorkerDropReason,
  MajordomoClientEvent,
  MajordomoClientEventType,
} from "./events";
export { MajordomoError, type MajordomoErrorReason } from "./errors";
export type { ServiceStatus } from "./service-registry";
export { dealerLink, type MdpLink, type LinkEvent, type LinkFactory, type DealerLinkOptions } from "./link";
export type { Body } from "./frames";
export { ERROR_MARKER, STATUS, errorReplyBody, errorFromReply } from "./status";
export { MMI_PREFIX, isMmiService } from "./mmi";
export {
  HEADER,
  WORKER_01,
  WORKER_02,
  CLIENT_02,
  encodeWorkerCommand,
  decodeWorkerCommand,
  encodeClientCommand,
  decodeClientCommand,
  decodeInbound,
  type MdpVersion,
  type WorkerCommand,
  type ClientCommand,
  type Decoded,
  type Inbound,
} from "./protocol";
