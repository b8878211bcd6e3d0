import type { Observable } from "rxjs";
import type { Logger } from "pino";
import { Dealer, type SocketOptions } from "../../src";

/**
 * One connection to a broker, as the worker and clients use it. The worker
 * and clients never touch a socket directly, so their timer logic can be
 * driven in virtual time over an in-memory link.
 */
export interface MdpLink {
  /** Frames received from the broker; completes when the link closes. */
  readonly messages$: Observable<Buffer[]>;
  /** Queues frames for the broker; never throws (failures are logged). */
  send(frames: Buffer[]): void;
  /** Closes the link; queued frames are flushed for up to `linger` ms. */
  close(): void;
}

/** Makes a fresh link each time it is called (Lazy Pirate: a new socket per retry). */
export type LinkFactory = () => MdpLink;

/** Settings for the DEALER behind {@link dealerLink}. */
export interface DealerLinkOptions {
  /** Extra socket options for the DEALER (e.g. `heartbeatInterval`, `reconnectInterval`). */
  socket?: SocketOptions;
  /** ms to flush queued frames on close, so a final DISCONNECT reaches the broker. Default 100. */
  linger?: number;
  logger?: Logger;
}

/** A link over a fresh DEALER connected to `endpoint`. */
export function dealerLink(endpoint: string, options: DealerLinkOptions = {}): MdpLink {
  const logger = options.logger;
  const dealer = new Dealer({ ...options.socket, ...(logger ? { logger } : {}) });
  dealer.connect(endpoint);
  return {
    messages$: dealer.messages$,
    send(frames) {
      if (dealer.closed) return;
      dealer.send(frames).catch((error: unknown) => dealer.logger.debug({ err: error }, "mdp send failed"));
    },
    close() {
      if (dealer.closed) return;
      dealer.linger = options.linger ?? 100;
      dealer.close();
    },
  };
}
