import { concat, filter, lastValueFrom, Subject, type Observable, type SchedulerLike, type Subscription } from "rxjs";
import { Router, type RouterOptions, type SocketOptions } from "../../src";
import { BinaryStar } from "../binary-star/server";
import type { BinaryStarRole } from "../binary-star/fsm";
import { BrokerEngine, type BrokerEngineOptions } from "./broker-engine";
import type { BrokerEvent } from "./events";
import { headerVersion } from "./protocol";
import { announcesIds, EXTENSION_METADATA } from "./request-ids";
import type { ServiceStatus } from "./service-registry";

/**
 * One broker of a Binary Star pair (see docs/patterns/binary-star.md,
 * "Majordomo broker pair"): the two brokers exchange their state over
 * PUB/SUB and only the active one serves.
 */
export interface MajordomoBrokerPairOptions {
  /** Which broker of the pair this is: the primary is active when both start. */
  role: BinaryStarRole;
  /** Where this broker publishes its state (bound), e.g. `tcp://10.0.0.1:5003`. */
  statePublisher: string;
  /** The other broker's `statePublisher` (connected). */
  stateSubscriber: string;
  /** ms between two state messages. Default 1000 (the guide's). */
  heartbeat?: number;
  /** The other broker counts as dead after this many silent heartbeats. Integer >= 2. Default 2. */
  peerExpiryMultiplier?: number;
  /**
   * Options for the state publisher, which binds, so it takes a mechanism's
   * server role (over CURVE: `curveServer: true`, this broker's
   * `curveSecretKey`, a `zapDomain`). Default: the mechanism settings of the
   * broker's `socket` (`curveServer`, `curvePublicKey`, `curveSecretKey`,
   * `plainServer`, `zapDomain`), so a broker secured there publishes its
   * state under the same keys; set it (`{}` for NULL) to differ.
   */
  socket?: SocketOptions;
  /**
   * Options for the state subscriber, which connects to the other broker's
   * publisher, so it takes a mechanism's client role: over CURVE, this
   * broker's `curveSecretKey` and the OTHER broker's public key as
   * `curveServerKey` (CURVE servers bind, clients connect). A subscriber
   * whose handshake fails never hears its peer, so both brokers would go
   * active: configure both sides. Default: none (NULL mechanism).
   */
  peerSocket?: SocketOptions;
  /** Scheduler for the pair's heartbeat and clock. Default: the broker's `scheduler`, else `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** Options of a {@link MajordomoBroker}. */
export interface MajordomoBrokerOptions extends BrokerEngineOptions {
  /**
   * Extra options for the broker's ROUTER socket. The broker binds, so this
   * is where a mechanism's server settings go (over CURVE: `curveServer:
   * true`, the broker's `curveSecretKey`, a `zapDomain`; workers and clients
   * connect with the broker's public key as `curveServerKey`). Its `sendHighWaterMark` defaults to 0 (no limit) rather
   * than the socket default 1000: a ROUTER drops what it cannot queue, and one burst of input (a TCP read
   * holding thousands of requests that are all refused, expired or answered by MMI at once) can produce
   * more than 1000 replies to one client before any is written out. A limit set here is lossy again.
   */
  socket?: RouterOptions;
  /** ms to flush DISCONNECTs to workers on close(). Default 100. */
  linger?: number;
  /**
   * Run as one broker of a Binary Star pair: only the active broker serves.
   * Every client request is a vote ({@link BinaryStar.vote}); one this broker
   * may not serve is dropped unanswered, so the client times out and tries
   * the other broker. Workers do not vote: a worker that talks to a broker
   * which does not serve gets DISCONNECT and moves on. When this broker
   * stops serving (it becomes passive, or is fenced after a stall), it
   * disconnects its workers and drops its queue (`BrokerEngine.reset` in `privateer/internal`).
   * The pair starts with the first {@link MajordomoBroker.bind}.
   */
  pair?: MajordomoBrokerPairOptions;
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
  /**
   * What the broker does (workers joining and expiring, requests queued,
   * dispatched, requeued, expired, replies sent); completes after
   * `{ type: "close" }`, once close() has released the sockets.
   */
  readonly events$: Observable<BrokerEvent>;
  /**
   * The Binary Star server that decides whether this broker serves, with
   * `pair` set: its `events$` (state changes, votes, split brains, stalls),
   * `state$` and `active$` tell what the pair does. Undefined otherwise.
   */
  readonly pair: BinaryStar | undefined;

  private readonly router: Router;
  private readonly engine: BrokerEngine;
  private readonly inbound: Subscription;
  private readonly connections: Subscription;
  private readonly linger: number;
  private pairEvents?: Subscription;
  private pairStarting = false;
  /** The `close` event, which follows the engine's own events once the sockets are released. */
  private readonly closing = new Subject<BrokerEvent>();
  private released?: Promise<void>;

  constructor(options: MajordomoBrokerOptions = {}) {
    const { socket, linger, pair, ...engineOptions } = options;
    this.router = new Router({
      sendHighWaterMark: 0,
      ...socket,
      // Clients and workers add request-id frames only for a broker that announces the extension.
      metadata: { ...socket?.metadata, ...EXTENSION_METADATA },
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.linger = linger ?? 100;
    // A send that succeeds at once returns the same settled Promise every time: one handler on it is enough,
    // rather than a new handler (and a microtask) per message.
    const watched = new WeakSet<Promise<void>>();
    const failed = (error: unknown): void => this.router.logger.debug({ err: error }, "broker send failed");
    this.engine = new BrokerEngine(
      (frames) => {
        const sent = this.router.send(frames);
        if (watched.has(sent)) return;
        watched.add(sent);
        sent.catch(failed);
      },
      engineOptions,
      // The engine's own timers ask too: after a thaw, one of them may run before any message or pair tick.
      () => this.pair?.serves() ?? true,
    );
    // The engine's stream completes when close() stops it; `close` follows once the sockets are released.
    this.events$ = concat(this.engine.events$, this.closing);
    this.pair = pair ? this.createPair(pair, options) : undefined;
    this.inbound = this.router.messages$.subscribe({
      next: (message) => this.onMessage(message),
      error: (error: unknown) => this.router.logger.warn({ err: error }, "broker receive failed"),
    });
    // The ROUTER names the peer behind each connection, so a worker whose connection drops is
    // removed (and its request requeued) at once rather than after heartbeat expiry.
    this.connections = this.router.events$.subscribe((event) => {
      if (event.type === "handshake" && event.routingId) {
        this.engine.peerConnected(event.routingId, { ids: announcesIds(event.peer.metadata) });
      }
      else if (event.type === "disconnect" && event.routingId) {
        // In a pair, the stall check comes first: a thawed broker must reset before a lost worker's request is requeued
        // and dispatched to another.
        this.pair?.serves();
        this.engine.peerDisconnected(event.routingId);
      }
    });
    this.engine.start();
  }

  /**
   * Binds the broker's socket; call it once per endpoint. With `pair`, the
   * first call also starts the pair (binds the state publisher); until then
   * the broker serves nobody.
   */
  async bind(endpoint: string): Promise<void> {
    await this.router.bind(endpoint);
    if (this.pair && !this.pairStarting) {
      this.pairStarting = true;
      await this.pair.start();
    }
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
   * socket. Resolves once the socket has flushed (up to `linger` ms) and
   * closed (with `pair`, the pair's sockets too); the `close` event comes
   * just before. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.released) return this.released;
    const done = lastValueFrom(this.router.events$.pipe(filter((event) => event.type === "close")), {
      defaultValue: undefined,
    }).then(() => undefined);
    this.engine.stop();
    this.inbound.unsubscribe();
    this.connections.unsubscribe();
    this.pairEvents?.unsubscribe();
    this.router.linger = this.linger;
    this.router.close();
    this.released = (this.pair ? Promise.all([done, this.pair.close()]) : done).then(() => {
      this.closing.next({ type: "close" });
      this.closing.complete();
    });
    return this.released;
  }

  /**
   * Alone, every message goes to the engine. In a pair, a client request
   * goes there only if the pair's vote says this broker serves it; anything
   * else (worker traffic, garbage) only while this broker serves, which
   * runs the stall check first, so a thawed broker's backlog is turned away
   * rather than dispatched.
   */
  private onMessage(message: Buffer[]): void {
    const pair = this.pair;
    if (!pair) {
      this.engine.handle(message);
      return;
    }
    const serves = isClientRequest(message) ? pair.vote() : pair.serves();
    if (serves) this.engine.handle(message);
    else this.engine.turnAway(message, pair.isActive ? "broker-fenced" : "broker-passive");
  }

  private createPair(pair: MajordomoBrokerPairOptions, options: MajordomoBrokerOptions): BinaryStar {
    const scheduler = pair.scheduler ?? options.scheduler;
    const star = new BinaryStar({
      role: pair.role,
      endpoints: { frontend: null, statePublisher: pair.statePublisher, stateSubscriber: pair.stateSubscriber },
      ...(pair.heartbeat === undefined ? {} : { heartbeat: pair.heartbeat }),
      ...(pair.peerExpiryMultiplier === undefined ? {} : { peerExpiryMultiplier: pair.peerExpiryMultiplier }),
      ...(scheduler ? { scheduler } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      socket: pair.socket ?? serverMechanism(options.socket),
      ...(pair.peerSocket ? { peerSocket: pair.peerSocket } : {}),
    });
    // What this broker held while active is not to be served by it any more: its workers go to the other broker,
    // and its queued requests' clients retry there.
    this.pairEvents = star.events$.subscribe((event) => {
      if (event.type === "state-changed" && event.from === "active") this.engine.reset("broker-passive");
      else if (event.type === "stalled") this.engine.reset("broker-fenced");
    });
    return star;
  }
}

/** The server-role mechanism settings of `socket`, the ones a broker's state publisher shares with its ROUTER. */
function serverMechanism(socket: RouterOptions | undefined): SocketOptions {
  if (!socket) return {};
  const { curveServer, curvePublicKey, curveSecretKey, plainServer, zapDomain } = socket;
  const picked: SocketOptions = { curveServer, curvePublicKey, curveSecretKey, plainServer, zapDomain };
  // Unset options stay unset rather than being applied as `undefined`.
  return Object.fromEntries(Object.entries(picked).filter(([, value]) => value !== undefined));
}

/** Whether a ROUTER message `[routingId, ...]` carries a client header (MDP 0.1 with its empty delimiter, or 0.2). */
function isClientRequest(message: readonly Buffer[]): boolean {
  const first = message[1];
  const header = first !== undefined && first.length === 0 ? message[2] : first;
  return headerVersion(header, "client") !== undefined;
}
