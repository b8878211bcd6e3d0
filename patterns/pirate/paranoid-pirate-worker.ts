import {
  asyncScheduler,
  catchError,
  concatMap,
  EMPTY,
  filter,
  interval,
  map,
  mergeMap,
  Subject,
  type Observable,
  type SchedulerLike,
  type Subscription,
} from "rxjs";
import type { Logger } from "pino";
import { Dealer, type MessageLike, type SocketOptions } from "../../src";
import { componentLogger } from "../../src";
import { Backoff } from "./backoff";
import { PirateError } from "./errors";
import type { PirateWorkerEvent, PirateWorkerState } from "./events";
import { Lifecycle } from "../shared/lifecycle";
import { socketReleased } from "../shared/released";
import { replyFrames, runHandler, type PirateHandler } from "./handler";
import { Liveness } from "./liveness";
import { pppHeartbeatFrame, pppCommand, pppReadyFrame, splitEnvelope } from "./ppp";
import { positive } from "../shared/validate";

/** Options of a {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerOptions {
  /** ms between the HEARTBEATs we send, and between liveness checks of the queue. Default 1000. */
  heartbeatInterval?: number;
  /** Silent heartbeat intervals in a row after which the queue is presumed dead. Default 3. */
  liveness?: number;
  /** First delay (ms) before reconnecting after the queue is lost; doubles on each loss. Default 1000. */
  reconnectInterval?: number;
  /** Upper bound of the doubling reconnect delay. Default 32000. */
  reconnectMaxInterval?: number;
  /** Routing id of the worker's DEALER; by default the queue's ROUTER makes one up. */
  routingId?: string | Buffer;
  /**
   * Options for the worker's DEALER, the first and each one re-created after
   * the queue is lost, applied over the default `linger: 0` (`routingId`
   * above wins over one given here). The ZMTP `heartbeatInterval` and
   * `reconnectInterval` set here are the socket's, separate from the PPP
   * ones above. The worker connects to the queue's backend, so it takes a
   * mechanism's client role: over CURVE, the queue's public key as
   * `curveServerKey` and this worker's `curveSecretKey` (CURVE servers
   * bind, clients connect). Default: none.
   */
  socket?: SocketOptions;
  /** Parent logger. Default: silent. */
  logger?: Logger;
  /** Scheduler for heartbeats, liveness and backoff; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * The options-object form of the {@link ParanoidPirateWorker} constructor, the shape
 * the Majordomo worker takes: the queue's endpoint beside the other options.
 */
export interface ParanoidPirateWorkerConfig extends ParanoidPirateWorkerOptions {
  /** The queue's backend endpoint, e.g. `tcp://127.0.0.1:5556`. */
  endpoint: string;
}

interface Connection {
  readonly socket: Dealer;
  heardFrom: boolean;
}

/**
 * RFC 6 (PPP) worker, compatible with the zguide's `ppworker` and
 * `ppqueue`. It connects a DEALER to the queue and sends READY (`01`);
 * then it answers requests one at a time with the handler, sends HEARTBEAT
 * (`02`) every interval, and counts the intervals in which the queue said
 * nothing. After `liveness` of them it drops the socket, waits (1 s, 2 s,
 * 4 s ... up to 32 s by default) and starts a new conversation on a fresh
 * socket, so a dead or restarted queue never strands it.
 *
 * @example
 * ```ts
 * const worker = new ParanoidPirateWorker("tcp://127.0.0.1:5556");
 * worker.serve(([body]) => `echo ${body}`);
 * // later
 * worker.close();
 * ```
 */
export class ParanoidPirateWorker {
  /**
   * What the worker does, as a typed stream; completes after `{ type: "close" }`.
   * Hot: events are not replayed, so subscribe before serve(); {@link state$}
   * replays the current state.
   */
  readonly events$: Observable<PirateWorkerEvent>;
  /** The worker's state; replays the current one to each new subscriber, completes after "closed". */
  readonly state$: Observable<PirateWorkerState>;
  readonly heartbeatInterval: number;
  readonly liveness: number;

  private readonly life: Lifecycle<PirateWorkerEvent, PirateWorkerState>;
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly routingId?: string | Buffer;
  private readonly socketOptions: SocketOptions;
  private heartbeats?: Subscription;
  private reconnectTimer?: Subscription;
  private handler?: PirateHandler;
  private connection?: Connection;
  private peerLiveness: Liveness;
  private attempt = 0;
  private lost = false;
  /** Each socket the worker opens, in turn; their requests go through one concatMap (see serve()). */
  private readonly connections = new Subject<Connection>();
  /** Requests taken in and not yet done with (handled, or skipped because their conversation ended). */
  private pending = 0;
  /** drain() calls waiting for `pending` to reach 0. */
  private idleWaiters: (() => void)[] = [];
  private isClosed = false;
  private draining = false;

  /** The queue's backend endpoint this worker connects to. */
  readonly endpoint: string;

  /** One options object, `endpoint` among them (as the Majordomo worker takes its `broker`). */
  constructor(config: ParanoidPirateWorkerConfig);
  /** The queue's backend endpoint, then the options. */
  constructor(endpoint: string, options?: ParanoidPirateWorkerOptions);
  constructor(first: string | ParanoidPirateWorkerConfig, second: ParanoidPirateWorkerOptions = {}) {
    const positional = typeof first === "string";
    const endpoint = positional ? first : (first as ParanoidPirateWorkerConfig | undefined)?.endpoint;
    if (typeof endpoint !== "string") throw new PirateError("invalid", "a Pirate worker needs the queue's endpoint");
    const options: ParanoidPirateWorkerOptions = positional ? second : first;
    this.endpoint = endpoint;
    this.heartbeatInterval = positive("heartbeatInterval", options.heartbeatInterval ?? 1000);
    this.liveness = positive("liveness", options.liveness ?? 3);
    const initial = positive("reconnectInterval", options.reconnectInterval ?? 1000);
    const max = positive("reconnectMaxInterval", options.reconnectMaxInterval ?? 32000);
    if (max < initial) throw new PirateError("invalid", "reconnectMaxInterval must be >= reconnectInterval");
    this.backoff = new Backoff(initial, max);
    this.routingId = options.routingId;
    this.socketOptions = { ...options.socket };
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = componentLogger("paranoid-pirate-worker", { endpoint }, options.logger);
    this.peerLiveness = new Liveness(this.liveness);
    this.life = new Lifecycle<PirateWorkerEvent, PirateWorkerState>("new", this.logger);
    this.events$ = this.life.events$;
    this.state$ = this.life.state$;
  }

  /** The worker's current state (what {@link state$} replays). */
  get state(): PirateWorkerState {
    return this.life.state;
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** True while a socket to the queue is open (it may still be waiting for the queue's first message). */
  get connected(): boolean {
    return this.connection !== undefined;
  }

  /** Connects and answers every request with `handler`, until close(). Call it once. */
  serve(handler: PirateHandler): this {
    if (this.isClosed) throw new PirateError("closed", "worker is closed");
    if (this.handler) throw new PirateError("invalid", "worker is already serving");
    this.handler = handler;
    // Every socket's messages, through one concatMap for the worker's life: requests are answered one at a
    // time and in order, even across a reconnect (a request from the new socket waits for one still running
    // from the old). Heartbeats and liveness are dealt with in the filter, as each message arrives, never
    // behind a request in progress.
    this.connections
      .pipe(
        mergeMap((connection) =>
          connection.socket.messages$.pipe(
            filter((frames) => this.admit(connection, frames)),
            map((frames) => ({ connection, frames })),
            catchError((error: unknown) => {
              this.logger.warn({ err: error }, "worker socket failed");
              return EMPTY;
            }),
          ),
        ),
        concatMap(({ connection, frames }) => this.handle(connection, frames)),
      )
      .subscribe({ error: (error: unknown) => this.logger.error({ err: error }, "worker stopped answering") });
    this.heartbeats = interval(this.heartbeatInterval, this.scheduler).subscribe(() => this.beat());
    this.open();
    return this;
  }

  /**
   * Drops the connection at once (linger 0) and stops; a request being
   * handled gets no reply. Resolves once the socket is released; the
   * `close` event comes just before. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.life.closed) return this.life.closed;
    this.isClosed = true;
    return this.life.close("closed", () => {
      this.heartbeats?.unsubscribe();
      this.reconnectTimer?.unsubscribe();
      const socket = this.connection?.socket;
      this.dropConnection();
      // The request stream ends once every socket's messages$ has completed and the request in progress is done.
      this.connections.complete();
      return socket ? socketReleased(socket) : Promise.resolve();
    });
  }

  /**
   * Leaves gracefully: takes no new request, lets the one in progress (if
   * any) finish, and closes once its reply is written out (the socket
   * lingers up to `linger` ms, default 1000, to flush it). After `timeout`
   * ms (default: no limit) it closes anyway, and that request gets no reply.
   * PPP has no DISCONNECT, so the queue may still send a request meanwhile:
   * it is dropped, and its client's retry recovers it. Resolves as close() does.
   */
  drain(timeout?: number, linger = 1000): Promise<void> {
    if (this.life.closed) return this.life.closed;
    this.draining = true;
    const finished = this.idle();
    const bounded =
      timeout === undefined
        ? finished
        : Promise.race([finished, new Promise<void>((resolve) => this.scheduler.schedule(() => resolve(), positive("timeout", timeout)))]);
    return bounded.then(() => {
      if (this.connection) this.connection.socket.linger = linger;
      return this.close();
    });
  }

  private open(): void {
    if (this.isClosed) return;
    this.attempt += 1;
    const socket = new Dealer({
      linger: 0,
      ...this.socketOptions,
      logger: this.logger,
      ...(this.routingId ? { routingId: this.routingId } : {}),
    });
    const connection: Connection = { socket, heardFrom: false };
    this.connection = connection;
    this.connections.next(connection);
    this.peerLiveness = new Liveness(this.liveness);
    socket.connect(this.endpoint);
    this.life.enter("connecting");
    this.emit({ type: "connecting", endpoint: this.endpoint, attempt: this.attempt });
    this.send(connection, [pppReadyFrame()]);
    this.emit({ type: "ready-sent", endpoint: this.endpoint });
  }

  private dropConnection(): void {
    const connection = this.connection;
    if (!connection) return;
    this.connection = undefined;
    // Completes the socket's messages$; anything it still delivers meanwhile is no longer admitted.
    connection.socket.close();
  }

  private beat(): void {
    const connection = this.connection;
    if (!connection) return;
    const state = this.peerLiveness.tick();
    if (state === "dead") {
      this.lost = true;
      const delay = this.backoff.next();
      this.emit({ type: "queue-lost", delay });
      this.dropConnection();
      this.reconnectTimer = this.scheduler.schedule(() => this.open(), delay);
      return;
    }
    if (state === "missed") this.emit({ type: "heartbeat-missed", remaining: this.peerLiveness.remaining });
    this.send(connection, [pppHeartbeatFrame()]);
  }

  /**
   * Takes in one message as it arrives: liveness, state, and the PPP
   * commands. True for a request to answer, which then waits its turn.
   */
  private admit(connection: Connection, frames: Buffer[]): boolean {
    if (connection !== this.connection) return false;
    this.peerLiveness.heard();
    this.backoff.reset();
    if (!connection.heardFrom) {
      connection.heardFrom = true;
      this.attempt = 0;
      this.life.enter("connected");
      if (this.lost) {
        this.lost = false;
        this.emit({ type: "reconnected", endpoint: this.endpoint });
      }
    }
    const command = pppCommand(frames);
    if (command === "heartbeat") return false;
    if (command === "ready") {
      this.emit({ type: "protocol-error", reason: "READY from the queue" });
      return false;
    }
    if (this.draining) {
      this.logger.debug("request dropped: the worker is leaving");
      return false;
    }
    this.pending += 1;
    return true;
  }

  /** Settles once every request taken in so far is done with. */
  private idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async handle(connection: Connection, frames: Buffer[]): Promise<void> {
    try {
      await this.answer(connection, frames);
    } finally {
      this.pending -= 1;
      if (this.pending === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  private async answer(connection: Connection, frames: Buffer[]): Promise<void> {
    if (connection !== this.connection) return;
    const { envelope, body } = splitEnvelope(frames);
    this.emit({ type: "request", frames: body.length });
    let reply: MessageLike[] | undefined;
    try {
      const content = replyFrames(await runHandler(this.handler!, body));
      if (content.length === 0) throw new PirateError("invalid", "a reply needs at least one frame");
      reply = [...envelope, ...content];
    } catch (error) {
      this.emit({ type: "handler-error", error });
    }
    // The conversation this request belonged to is over; its client has retried elsewhere.
    if (connection !== this.connection) return;
    if (reply) {
      this.send(connection, reply);
      this.emit({ type: "reply-sent", frames: reply.length - envelope.length });
    } else {
      this.send(connection, [pppReadyFrame()]);
    }
  }

  private send(connection: Connection, frames: MessageLike[]): void {
    connection.socket.send(frames).catch((error: unknown) => this.logger.debug({ err: error }, "send failed"));
  }

  private emit(event: PirateWorkerEvent): void {
    this.life.emit(event);
  }
}
