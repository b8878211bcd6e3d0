import type { Metadata } from "../codec/metadata";
import type { SocketType } from "./socket-type";

/** What a completed handshake tells us about the peer. */
export interface PeerInfo {
  readonly socketType: SocketType;
  /** The peer's `Identity` property; empty when it sent none. */
  readonly routingId: Buffer;
  /** All READY properties: names as the peer spelled them, `get`/`has` in any case. Empty for inproc peers. */
  readonly metadata: Metadata;
  /** Protocol revision agreed with the peer. */
  readonly protocol: "ZMTP/3.0" | "ZMTP/3.1" | "inproc";
}
