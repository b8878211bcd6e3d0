import { filter, map, type Observable } from "rxjs";
import type { Logger } from "pino";
import { Dealer, type SocketOptions } from "../../src";
import { socketReleased } from "../shared/released";
import { announcesIds, EXTENSION_METADATA } from "./request-ids";

/**
 * A change in a link's connection to the broker: the handshake completed,
 * an established connection was lost, or an attempt to connect failed
 * (nothing listens there: a broker of a pair that is down).
 */
export type LinkEvent =
  | {
      readonly type: "connected";
      /** The broker announced the request-id extension in its READY metadata (see request-ids.ts). */
      readonly ids?: boolean;
    }
  | { readonly type: "disconnected" }
  | { readonly type: "unreachable" };

/**
 * One connection to a broker, as the worker and clients use it. The worker
 * and clients never touch a socket directly, so their timer logic can be
 * driven in virtual time over an in-memory link.
 */
export interface MdpLink {
  /** Frames received from the broker; completes when the link closes. */
  readonly messages$: Observable<Buffer[]>;
  /** Handshakes with the broker and losses of the connection, when the transport can tell. */
  readonly events$?: Observable<LinkEvent>;
  /**
   * True when the link announces the request-id extension to the broker and
   * its `connected` events say whether the broker announced it too (as
   * {@link dealerLink} does). A client then holds its requests until that
   * handshake, so that it knows whether to add id frames. Unset: the link
   * speaks plain MDP only.
   */
  readonly announcesIds?: boolean;
  /** Queues frames for the broker; never throws (failures are logged). */
  send(frames: Buffer[]): void;
  /**
   * Closes the link; queued frames are flushed for up to `linger` ms. May
   * return a promise that settles once the socket is released; owners'
   * close() promises wait for it.
   */
  close(): void | Promise<void>;
}

/**
 * Makes a fresh link each time it is called (Lazy Pirate: a new socket per
 * retry). `endpoint` is the broker the owner wants this link to reach when
 * it was given several (a pair) and takes them in turn; undefined when it
 * was given none, and a factory may ignore it.
 */
export type LinkFactory = (endpoint?: string) => MdpLink;

/** The broker endpoints of a worker's or client's `broker` option, as a list (empty when it is not set). */
export function brokerEndpoints(broker: string | readonly string[] | undefined): readonly string[] {
  if (broker === undefined) return [];
  return typeof broker === "string" ? [broker] : [...broker];
}

/**
 * Socket options for the DEALER a worker or client connects to a broker:
 * one set for every broker, or a function of the broker endpoint, called
 * for each fresh socket (each reconnect, each retry), for brokers that
 * differ in what the socket needs. The DEALER connects, so it takes a
 * mechanism's client role: over CURVE, each broker's public key as
 * `curveServerKey` with this peer's `curveSecretKey` (CURVE servers bind,
 * clients connect); a broker pair whose brokers have distinct keys needs
 * the function form.
 */
export type BrokerSocketOptions = SocketOptions | ((endpoint: string) => SocketOptions);

/** The options of {@link BrokerSocketOptions} for the socket to `endpoint`. */
export function brokerSocketOptions(socket: BrokerSocketOptions | undefined, endpoint: string): SocketOptions | undefined {
  return typeof socket === "function" ? socket(endpoint) : socket;
}

/** Settings for the DEALER behind {@link dealerLink}. */
export interface DealerLinkOptions {
  /** Extra socket options for the DEALER (e.g. `heartbeatInterval`, `reconnectInterval`). */
  socket?: SocketOptions;
  /** ms to flush queued frames on close, so a final DISCONNECT reaches the broker. Default 100. */
  linger?: number;
  logger?: Logger;
}

/**
 * A link over a fresh DEALER connected to `endpoint`. The DEALER announces
 * the request-id extension in its READY metadata, and each `connected`
 * event says whether the broker announced it too.
 */
export function dealerLink(endpoint: string, options: DealerLinkOptions = {}): MdpLink {
  const logger = options.logger;
  const dealer = new Dealer({
    ...options.socket,
    metadata: { ...options.socket?.metadata, ...EXTENSION_METADATA },
    ...(logger ? { logger } : {}),
  });
  dealer.connect(endpoint);
  return {
    announcesIds: true,
    messages$: dealer.messages$,
    events$: dealer.events$.pipe(
      filter((event) => event.type === "handshake" || event.type === "disconnect" || event.type === "connect:delay"),
      map(
        (event): LinkEvent =>
          event.type === "handshake"
            ? { type: "connected", ids: announcesIds(event.peer.metadata) }
            : { type: event.type === "disconnect" ? "disconnected" : "unreachable" },
      ),
    ),
    send(frames) {
      if (dealer.closed) return;
      dealer.send(frames).catch((error: unknown) => dealer.logger.debug({ err: error }, "mdp send failed"));
    },
    close() {
      const released = socketReleased(dealer);
      if (!dealer.closed) {
        dealer.linger = options.linger ?? 100;
        dealer.close();
      }
      return released;
    },
  };
}
