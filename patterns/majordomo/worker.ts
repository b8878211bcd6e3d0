import { asyncScheduler, firstValueFrom, from, race, timer, type Observable, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import { PrivateerError } from "../../src";
import { componentLogger } from "../../src";
import type { WorkerEvent, WorkerState } from "./events";
import { brokerEndpoints, brokerSocketOptions, dealerLink, type BrokerSocketOptions, type LinkFactory } from "./link";
import { isMmiService } from "./mmi";
import { positive } from "../shared/validate";
import type { MdpVersion } from "./protocol";
import { WorkerSession, type RequestHandler } from "./worker-session";
import type { IdempotencyStore } from "../exactly-once/store";
import { Lifecycle } from "../shared/lifecycle";

/** Options of {@link MajordomoWorker.serve}. */
export interface ServeOptions<Tx> {
  /**
   * Makes requests that carry a client's request id exactly-once
   * (docs/exactly-once.md): the handler runs inside the store's transaction
   * (`request.tx`), and the reply is recorded under the id in the same
   * commit; a redelivered id gets the recorded reply without the handler
   * running again. Share one store (SQLite file, PostgreSQL database) among
   * every worker of the service, so a request requeued to another worker is
   * recognised too. Requests without an id (plain MDP clients) run as without
   * a store. Only the final reply is sent for a request with an id.
   */
  readonly idempotency?: IdempotencyStore<Tx>;
}

/** Options of a {@link MajordomoWorker}. */
export interface MajordomoWorkerOptions {
  /**
   * The broker endpoint, e.g. `tcp://127.0.0.1:5555`, or both endpoints of a
   * broker pair (the broker's `pair` option). With several, each (re)connect
   * takes the next in turn, and the worker moves on at once when a broker
   * sends DISCONNECT (a broker that does not serve does), when its
   * connection drops or cannot be made, or when it is silent for
   * `heartbeatLiveness` intervals; after a whole round of brokers failed, it
   * waits `reconnectInterval` before the next round.
   * Required unless `linkFactory` is given.
   */
  broker?: string | readonly string[];
  /** The service to register; names starting with `mmi.` are reserved for the broker. */
  service: string;
  /** MDP version to speak. Default "0.2" (18/MDP, with partial replies). */
  version?: MdpVersion;
  /** ms between HEARTBEATs; must match the broker's. Default 2500. */
  heartbeatInterval?: number;
  /** Silent heartbeat intervals after which the broker counts as dead. Default 3. */
  heartbeatLiveness?: number;
  /** ms to wait before reconnecting after the broker was lost. Default 2500. */
  reconnectInterval?: number;
  /** Number of sockets, i.e. requests handled at once (each socket is one MDP worker). Default 1. */
  concurrency?: number;
  /**
   * Extra options for each DEALER socket, every reconnect's fresh socket
   * included: one set for every broker, or a function of the broker
   * endpoint. The worker connects, so over CURVE these are client settings:
   * the broker's public key as `curveServerKey` and this worker's
   * `curveSecretKey` (see {@link BrokerSocketOptions}).
   */
  socket?: BrokerSocketOptions;
  /** Scheduler for heartbeats and reconnects; tests pass a TestScheduler. */
  scheduler?: SchedulerLike;
  logger?: Logger;
  /** Makes the connection for each (re)connect; defaults to a fresh DEALER to `broker`. For tests and custom transports. */
  linkFactory?: LinkFactory;
}

/**
 * A Majordomo worker: registers `service` with a broker and answers its
 * requests with a handler. It heartbeats, notices a dead broker, and
 * reconnects on a fresh socket and re-registers, as 7/MDP and 18/MDP ask.
 *
 * @example
 * ```ts
 * const worker = new MajordomoWorker({ broker: "tcp://127.0.0.1:5555", service: "echo" });
 * worker.serve(({ body }) => body);                 // one reply
 * // or stream partial replies (MDP 0.2): worker.serve(() => interval(100).pipe(take(3), map(String)));
 * ```
 */
export class MajordomoWorker {
  /**
   * What the worker does: ready, requests, replies, missed heartbeats,
   * reconnects. Completes after `{ type: "close" }`. Hot: events are not
   * replayed, so subscribe before serve(); {@link state$} replays the
   * current state.
   */
  readonly events$: Observable<WorkerEvent>;
  /** The worker's state; replays the current one to each new subscriber, completes after "closed". */
  readonly state$: Observable<WorkerState>;

  private readonly life: Lifecycle<WorkerEvent, WorkerState>;
  private drained?: Promise<void>;
  private readonly sessions: WorkerSession[] = [];
  private readonly options: MajordomoWorkerOptions;
  private readonly endpoints: readonly string[];
  private readonly logger: Logger;
  private isClosed = false;

  constructor(options: MajordomoWorkerOptions) {
    if (isMmiService(options.service)) {
      throw new PrivateerError("EINVAL", `service names starting with "mmi." are reserved for the broker`);
    }
    const endpoints = brokerEndpoints(options.broker);
    if (endpoints.some((endpoint) => typeof endpoint !== "string" || endpoint === "")) {
      throw new PrivateerError("EINVAL", "broker endpoints must be non-empty strings");
    }
    if (endpoints.length === 0 && !options.linkFactory) throw new PrivateerError("EINVAL", "a worker needs a broker endpoint");
    this.endpoints = endpoints;
    positive("concurrency", options.concurrency ?? 1);
    this.options = options;
    this.logger = componentLogger("mdp-worker", { service: options.service }, options.logger);
    this.life = new Lifecycle<WorkerEvent, WorkerState>("new", this.logger);
    this.events$ = this.life.events$;
    this.state$ = this.life.state$;
  }

  /** The worker's current state (what {@link state$} replays). */
  get state(): WorkerState {
    return this.life.state;
  }

  /**
   * Connects every socket and answers requests with `handler` until close(). Call once.
   * With `options.idempotency`, see {@link ServeOptions}. Returns the worker, as the Pirate workers' serve() does.
   */
  serve<Tx = unknown>(handler: RequestHandler<Tx>, options: ServeOptions<Tx> = {}): this {
    if (this.isClosed) throw new PrivateerError("EBADF", "worker is closed");
    if (this.sessions.length > 0) throw new PrivateerError("EFSM", "worker is already serving");
    const o = this.options;
    const first = this.endpoints[0];
    const linkFactory: LinkFactory =
      o.linkFactory ??
      ((endpoint) => {
        const target = endpoint ?? first!;
        const socket = brokerSocketOptions(o.socket, target);
        return dealerLink(target, { logger: this.logger, ...(socket ? { socket } : {}) });
      });
    const concurrency = o.concurrency ?? 1;
    for (let index = 0; index < concurrency; index++) {
      this.sessions.push(
        new WorkerSession({
          index,
          service: o.service,
          version: o.version ?? "0.2",
          heartbeatInterval: positive("heartbeatInterval", o.heartbeatInterval ?? 2500),
          liveness: positive("heartbeatLiveness", o.heartbeatLiveness ?? 3),
          reconnectInterval: positive("reconnectInterval", o.reconnectInterval ?? 2500),
          scheduler: o.scheduler ?? asyncScheduler,
          logger: this.logger,
          linkFactory,
          endpoints: this.endpoints,
          // The session does not look into `tx`; it passes the store's transaction from the store to the handler.
          handler: handler as RequestHandler,
          ...(options.idempotency ? { idempotency: options.idempotency as IdempotencyStore<unknown> } : {}),
          emit: (event) => this.emit(event),
        }),
      );
    }
    this.life.enter("serving");
    for (const session of this.sessions) session.start();
    return this;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends DISCONNECT on every socket and closes them; a request in progress
   * is abandoned (the broker requeues it). Resolves once every socket has
   * flushed its DISCONNECT (up to the link's linger) and is released; the
   * `close` event comes just before. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.life.closed) return this.life.closed;
    this.isClosed = true;
    return this.life.close("closed", () => Promise.all(this.sessions.map((session) => session.close())));
  }

  /**
   * Leaves gracefully: each socket with no request in progress sends
   * DISCONNECT and closes at once; each one with a request finishes it,
   * sends the reply and then DISCONNECT, so the broker gives it nothing
   * new. After `timeout` ms (default: no limit) whatever is still in
   * progress is abandoned as close() abandons it (the broker requeues it).
   * Resolves as close() does; calling it again returns the same promise.
   */
  drain(timeout?: number): Promise<void> {
    if (this.drained) return this.drained;
    if (this.life.closed) return this.life.closed;
    const scheduler = this.options.scheduler ?? asyncScheduler;
    const sessions = Promise.all(this.sessions.map((session) => session.drain()));
    const bounded =
      timeout === undefined ? sessions : firstValueFrom(race(from(sessions), timer(positive("timeout", timeout), scheduler)));
    this.drained = bounded.then(() => this.close());
    return this.drained;
  }

  private emit(event: WorkerEvent): void {
    this.life.emit(event);
  }
}
