import type { Message } from "../codec/frame";
import type { ZapReply, ZapRequest } from "../engine/mechanism";
import { parseZapReply, ZAP_ENDPOINT_NAME, zapRequestFrames } from "../engine/mechanism/zap-client";
import { isInprocBound } from "../transport/inproc";
import { SinglePeerSocket } from "./single-peer-socket";

let nextRequestId = 1;

/**
 * Sends one ZAP request to the handler on `inproc://zeromq.zap.01` and
 * resolves with its reply, or `undefined` when no handler is bound. This is
 * the ZapRequester every socket hands its engines (EngineOptions.zap).
 *
 * Each request uses its own short-lived DEALER: handshakes are rare, and a
 * fresh connection also survives a handler that was closed and bound again.
 * A reply that never comes is bounded by the handshake timeout, which aborts
 * `signal`.
 */
export async function askZap(request: ZapRequest, signal?: AbortSignal): Promise<ZapReply | undefined> {
  if (!isInprocBound(ZAP_ENDPOINT_NAME)) return undefined;
  const socket = new ZapSocket();
  const close = () => socket.close();
  signal?.addEventListener("abort", close, { once: true });
  try {
    const id = String(nextRequestId++);
    socket.connect(`inproc://${ZAP_ENDPOINT_NAME}`);
    await socket.request(zapRequestFrames(id, request));
    for (;;) {
      const reply = parseZapReply(await socket.reply(), id);
      if (reply !== undefined) return reply;
    }
  } finally {
    signal?.removeEventListener("abort", close);
    socket.close();
  }
}

/**
 * The DEALER a ZAP request travels on. Its one peer is the handler, so its
 * routing rules are that pipe's queues in both directions; it is defined
 * here rather than taken from socket-types so the socket layer needs nothing
 * above it.
 */
class ZapSocket extends SinglePeerSocket {
  constructor() {
    super("DEALER");
    this.configure({ linger: 0 });
  }

  request(frames: Message): Promise<void> {
    return this.sendMessage(frames);
  }

  reply(): Promise<Message> {
    return this.receiveMessage();
  }
}
