import { decodeMetadata } from "../../codec/metadata";
import { isInprocBound } from "../../transport/inproc";
import type { ZapReply, ZapRequest } from "./mechanism";

/** RFC 27: the endpoint every ZAP handler binds, in the server's process. */
export const ZAP_ENDPOINT_NAME = "zeromq.zap.01";
export const ZAP_VERSION = "1.0";

let nextRequestId = 1;

/**
 * Sends one ZAP request to the handler on `inproc://zeromq.zap.01` and
 * resolves with its reply, or `undefined` when no handler is bound (the
 * mechanism decides what that means).
 *
 * Each request uses its own short-lived DEALER: handshakes are rare, and a
 * fresh connection also survives a handler that was closed and bound again.
 * The request starts with an empty delimiter so both REP and ROUTER handlers
 * (libzmq's, pyzmq's ThreadAuthenticator, {@link zapAuthenticator}) can answer.
 * A reply that never comes is bounded by the handshake timeout.
 */
export async function askZap(request: ZapRequest, signal?: AbortSignal): Promise<ZapReply | undefined> {
  if (!isInprocBound(ZAP_ENDPOINT_NAME)) return undefined;
  // Loaded on first use: the sockets module depends on the engine, so a static import would be a cycle.
  const { Dealer } = await import("../../socket-types/dealer");
  const dealer = new Dealer({ linger: 0 });
  const close = () => dealer.close();
  signal?.addEventListener("abort", close, { once: true });
  try {
    const id = String(nextRequestId++);
    dealer.connect(`inproc://${ZAP_ENDPOINT_NAME}`);
    await dealer.send([
      Buffer.alloc(0),
      ZAP_VERSION,
      id,
      request.domain,
      request.address,
      request.identity,
      request.mechanism,
      ...request.credentials,
    ]);
    for (;;) {
      const frames = await dealer.receive();
      // Delimiter, version, request id, status code, status text, user id, metadata.
      if (frames.length !== 7 || frames[0]!.length !== 0) return malformed("ZAP reply does not have 7 frames");
      if (frames[1]!.toString() !== ZAP_VERSION) return malformed("ZAP reply has a bad version");
      if (frames[2]!.toString() !== id) continue;
      let metadata;
      try {
        metadata = decodeMetadata(frames[6]!);
      } catch {
        return malformed("ZAP reply has malformed metadata");
      }
      return { statusCode: frames[3]!.toString(), statusText: frames[4]!.toString(), userId: frames[5]!.toString(), metadata };
    }
  } finally {
    signal?.removeEventListener("abort", close);
    dealer.close();
  }
}

/** libzmq treats a malformed reply as a failed authentication; so do we (status 500, no details from the handler). */
function malformed(why: string): ZapReply {
  return { statusCode: "500", statusText: why, userId: "", metadata: new Map() };
}
