import { decodeMetadata } from "../../codec/metadata";
import type { ZapReply, ZapRequest } from "./mechanism";

/** RFC 27: the endpoint every ZAP handler binds, in the server's process. */
export const ZAP_ENDPOINT_NAME = "zeromq.zap.01";
export const ZAP_VERSION = "1.0";

/**
 * Asks the ZAP handler about one client: resolves with its reply, or
 * `undefined` when no handler is bound (the mechanism decides what that
 * means). The socket layer supplies it (EngineOptions.zap), since reaching
 * the handler takes a socket; the engine only knows the protocol.
 */
export type ZapRequester = (request: ZapRequest, signal: AbortSignal) => Promise<ZapReply | undefined>;

/**
 * The frames of a ZAP request with request id `id`. They start with an empty
 * delimiter so both REP and ROUTER handlers (libzmq's, pyzmq's
 * ThreadAuthenticator, Privateer's zapAuthenticator) can answer a DEALER.
 */
export function zapRequestFrames(id: string, request: ZapRequest): Buffer[] {
  return [
    Buffer.alloc(0),
    Buffer.from(ZAP_VERSION),
    Buffer.from(id),
    Buffer.from(request.domain),
    Buffer.from(request.address),
    request.identity,
    Buffer.from(request.mechanism),
    ...request.credentials,
  ];
}

/**
 * Reads a reply to the request with id `id`: the reply, or `undefined` when
 * it answers another request (a stale one) and the next should be read.
 */
export function parseZapReply(frames: readonly Buffer[], id: string): ZapReply | undefined {
  // Delimiter, version, request id, status code, status text, user id, metadata.
  if (frames.length !== 7 || frames[0]!.length !== 0) return malformed("ZAP reply does not have 7 frames");
  if (frames[1]!.toString() !== ZAP_VERSION) return malformed("ZAP reply has a bad version");
  if (frames[2]!.toString() !== id) return undefined;
  let metadata;
  try {
    metadata = decodeMetadata(frames[6]!);
  } catch {
    return malformed("ZAP reply has malformed metadata");
  }
  return { statusCode: frames[3]!.toString(), statusText: frames[4]!.toString(), userId: frames[5]!.toString(), metadata };
}

/** libzmq treats a malformed reply as a failed authentication; so do we (status 500, no details from the handler). */
function malformed(why: string): ZapReply {
  return { statusCode: "500", statusText: why, userId: "", metadata: new Map() };
}
