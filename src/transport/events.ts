import type { PrivateerError, ProtocolError } from "../errors";
import type { PeerInfo } from "../engine/peer";

/**
 * Everything a socket reports about its endpoints and connections, as a
 * tagged union: switch on `type` and TypeScript narrows the rest. Names
 * follow zeromq.js's observer events where one exists. Defined here, in the
 * transport layer, because transports raise most of them; the socket adds
 * `close` and re-exports the union as its `events$`.
 */
export type SocketEvent =
  /** Listening on `address` (the resolved endpoint). */
  | { readonly type: "bind"; readonly address: string }
  /** Could not bind. */
  | { readonly type: "bind:error"; readonly address: string; readonly error: PrivateerError }
  /** Stopped listening on `address`. */
  | { readonly type: "unbind"; readonly address: string }
  /** A peer connected to a bound endpoint (the handshake follows). */
  | { readonly type: "accept"; readonly address: string }
  /** An outgoing connection was established (the handshake follows). */
  | { readonly type: "connect"; readonly address: string }
  /** An outgoing connection attempt failed; a retry will follow. */
  | { readonly type: "connect:delay"; readonly address: string }
  /** A reconnect is scheduled in `interval` ms. */
  | { readonly type: "connect:retry"; readonly address: string; readonly interval: number }
  /**
   * The ZMTP handshake succeeded: the peer is ready for messages. On a ROUTER,
   * `routingId` is the id its messages will carry (the peer's, or a generated one).
   */
  | { readonly type: "handshake"; readonly address: string; readonly peer: PeerInfo; readonly routingId?: Buffer }
  /** The handshake failed; the connection was closed. `error.reason` says why. */
  | { readonly type: "handshake:error"; readonly address: string; readonly error: ProtocolError }
  /** A handshaken peer broke the protocol; the connection was closed. */
  | { readonly type: "protocol:error"; readonly address: string; readonly error: ProtocolError }
  /**
   * A handshaken connection ended; `error` is set when it did not end cleanly.
   * On a ROUTER, `routingId` says which peer left.
   */
  | { readonly type: "disconnect"; readonly address: string; readonly error?: Error; readonly routingId?: Buffer }
  /** The socket is closed; the last event. */
  | { readonly type: "close" };

/** The `type` tags of {@link SocketEvent}, for filtering `events$` without repeating the list. */
export type SocketEventType = SocketEvent["type"];
