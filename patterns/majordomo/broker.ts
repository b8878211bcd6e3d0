import { filter, lastValueFrom, type Observable, type Subscription } from "rxjs";
import { Router, type RouterOptions } from "../../src";
import { BrokerEngine, type BrokerEngineOptions } from "./broker-engine";
import type { BrokerEvent } from "./events";
import type { ServiceStatus } from "./service-registry";

/** Options of a {@link MajordomoBroker}. */
export interface MajordomoBrokerOptions extends BrokerEngineOptions {
  /**
   * Extra options for the broker's ROUTER socket. Its `sendHighWaterMark` defaults to 0 (no limit) rather
   * than the socket default 1000: a ROUTER drops what it cannot queue, and one burst of input (a TCP read
   * holding thousands of requests that are all refused, expired or answered by MMI at once) can produce
   * more than 1000 replies to one client before any is written out. A limit set here is lossy again.
   */
  socket?: RouterOptions;
  /** ms to flush DISCONNECTs to workers on close(). Default 100. */
  linger?: number;
}

/**
 * A Majordomo broker (7/MDP 0.1 and 18/MDP 0.2, with 8/MMI) on one ROUTER
 * socket. Clients and workers of both versions may connect to the same
 * endpoint; the header frame of each message tells them apart.
 *
 * Workers are removed when they stop heartbeating, and also as soon as the
 * ROUTER reports their connection gone (a killed process), so the request a
 * worker held is requeued at once rather than after heartbeat expiry.
 *
 * By default it drops no request: service queues are unbounded, queued
 * requests never expire, and replies wait in the ROUTER for slow readers, so
 * memory grows with what clients send ahead (about 0.8 KB per queued request;
 * see docs/patterns/majordomo.md). `maxQueuedRequests` and `requestTimeout`
 * bound it, at the cost of MDP 0.1 clients losing requests without a reply.
 *
 * @example
 * ```ts
 * const broker = new MajordomoBroker({ heartbeatInterval: 2500 });
 * await broker.bind("tcp://127.0.0.1:5555");
 * broker.events$.subscribe((event) => log.info(event));
 * ```
 */
export class MajordomoBroker {
  /** What the broker does (workers joining and expiring, requests queued, dispatched, requeued, expired, replies sent). */
  readonly events$: Observable<BrokerEvent>;

  private readonly router: Router;
  private readonly engine: BrokerEngine;
  private readonly inbound: Subscription;
  private readonly connections: Subscription;
  private readonly linger: number;

  constructor(options: MajordomoBrokerOptions = {}) {
    const { socket, linger, ...engineOptions } = options;
    this.router = new Router({
      sendHighWaterMark: 0,
      ...socket,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.linger = linger ?? 100;
    this.engine = new BrokerEngine((frames) => {
      this.router.send(frames).catch((error: unknown) => this.router.logger.debug({ err: error }, "broker send failed"));
    }, engineOptions);
    this.events$ = this.engine.events$;
    this.inbound = this.router.messages$.subscribe({
      next: (message) => this.engine.handle(message),
      error: (error: unknown) => this.router.logger.warn({ err: error }, "broker receive failed"),
    });
    // The ROUTER names the peer behind each connection, so a worker whose connection drops is
    // removed (and its request requeued) at once rather than after heartbeat expiry.
    this.connections = this.router.events$.subscribe((event) => {
      if (event.type === "handshake" && event.routingId) this.engine.peerConnected(event.routingId);
      else if (event.type === "disconnect" && event.routingId) this.engine.peerDisconnected(event.routingId);
    });
    this.engine.start();
  }

  /** Binds the broker's socket; call it once per endpoint. */
  async bind(endpoint: string): Promise<void> {
    await this.router.bind(endpoint);
  }

  /** The endpoint most recently bound, with the ephemeral port resolved. */
  get lastEndpoint(): string | null {
    return this.router.lastEndpoint;
  }

  /** Every known service with its worker and queue counts. */
  services(): ServiceStatus[] {
    return this.engine.services();
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.router.closed;
  }

  /**
   * Sends DISCONNECT to every worker, drops queued requests, and closes the
   * socket. Resolves once the socket has flushed (up to `linger` ms) and closed.
   */
  close(): Promise<void> {
    if (this.router.closed) return Promise.resolve();
    const done = lastValueFrom(this.router.events$.pipe(filter((event) => event.type === "close")), {
      defaultValue: undefined,
    }).then(() => undefined);
    this.engine.stop();
    this.inbound.unsubscribe();
    this.connections.unsubscribe();
    this.router.linger = this.linger;
    this.router.close();
    return done;
  }
}
