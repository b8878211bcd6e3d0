/**
 * Majordomo internals: the transport-free broker engine, the MDP/MMI wire
 * encoders and error-reply frames, and the link seam the clients and workers
 * are built on. For tests, tools and peers written against the wire; these
 * names may change between minor versions. Published as `privateer/internal`.
 *
 * @packageDocumentation
 */
export { BrokerEngine, type BrokerEngineOptions } from "./broker-engine";
export { dealerLink, type MdpLink, type LinkEvent, type LinkFactory, type DealerLinkOptions } from "./link";
export { ERROR_MARKER, STATUS, errorReplyBody, errorFromReply } from "./status";
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
  type WorkerCommand,
  type ClientCommand,
  type Decoded,
  type Inbound,
} from "./protocol";
export {
  EXTENSION_PROPERTY,
  IDS_EXTENSION,
  EXTENSION_METADATA,
  ID_TAG,
  MAX_ID_LENGTH,
  announcesIds,
  withRequestId,
  takeRequestId,
} from "./request-ids";
export type { PeerInfo as BrokerPeerInfo } from "./broker-engine";
