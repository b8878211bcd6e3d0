import { asyncScheduler, BehaviorSubject, filter, Observable, Subject, type SchedulerLike, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { componentLogger, Publisher, Router, Subscriber, type Message, type MessageLike, type Readable, type SocketOptions } from "../../src";
import { socketReleased } from "../shared/released";
import { BinaryStarError, integerAtLeast } from "./errors";
import type { BinaryStarEndpoints, BinaryStarEvent } from "./events";
import {
  afterStall,
  decodeState,
  encodeState,
  initialContext,
  isFenced,
  isStall,
  onClientRequest,
  onPeerState,
  type BinaryStarFsmEvent,
  type BinaryStarRole,
  type BinaryStarState,
  type FsmContext,
  type FsmStep,
} from "./fsm";

/**
 * The guide's ports (chapter 4, bstarsrv), on loopback: the primary serves
 * clients on 5001 and publishes its state on 5003, the backup on 5002 and
 * 5004, each subscribing to the other's publisher. A pair on two machines
 * sets all three endpoints.
 */
export const GUIDE_ENDPOINTS: Readonly<Record<BinaryStarRole, BinaryStarEndpoints>> = {
  primary: { frontend: "tcp://127.0.0.1:5001", statePublisher: "tcp://127.0.0.1:5003", stateSubscriber: "tcp://127.0.0.1:5004" },
  backup: { frontend: "tcp://127.0.0.1:5002", statePublisher: "tcp://127.0.0.1:5004", stateSubscriber: "tcp://127.0.0.1:5003" },
};

/** Options of a {@link BinaryStar} server. */
export interface BinaryStarOptions {
  /** Which server of the pair this is. */
  role: BinaryStarRole;
  /**
   * Endpoints; each one left out takes the guide's for this role
   * ({@link GUIDE_ENDPOINTS}). `frontend: null` binds no frontend: the
   * application votes through {@link BinaryStar.vote} or {@link BinaryStar.voter}.
   */
  endpoints?: Partial<BinaryStarEndpoints>;
  /** ms between two state messages. Default 1000 (the guide's HEARTBEAT). */
  heartbeat?: number;
  /** A peer silent for this many heartbeats is dead. Integer >= 2 (one lost message must not kill a peer). Default 2. */
  peerExpiryMultiplier?: number;
  /**
   * Send the term frame after the state digit (see docs/patterns/binary-star.md).
   * Default true; turn off for a peer that cannot take a second frame.
   */
  terms?: boolean;
  /**
   * Socket options for the sockets this server binds: the state publisher
   * and the frontend ROUTER. Their role is the server's in a mechanism, so
   * this is where CURVE server settings go (`curveServer: true`,
   * `curveSecretKey`, `zapDomain`); CURVE servers bind and clients connect.
   * Applied over the defaults (`linger: 0`). Default: none (NULL mechanism).
   */
  socket?: SocketOptions;
  /**
   * Socket options for the state subscriber, the one socket that connects
   * (to the peer's state publisher). Its role is a client's: over CURVE it
   * needs this server's `curveSecretKey` (and `curvePublicKey`) and the
   * PEER's public key as `curveServerKey`, since the peer's publisher is
   * the CURVE server. Applied over the defaults (`linger: 0`). Default: none.
   */
  peerSocket?: SocketOptions;
  /** Scheduler for the heartbeat and the clock; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Parent logger. Default: silent. */
  logger?: Logger;
}

/** A client request received on the built-in ROUTER frontend while this server is active. */
export interface BinaryStarRequest {
  /** The request's frames after the routing envelope (for a REQ client, after the empty delimiter). */
  readonly body: Buffer[];
  /** Sends `reply` to the client that sent the request, under the same envelope. */
  reply(reply: MessageLike | readonly MessageLike[]): Promise<void>;
}

/**
 * One server of a Binary Star pair (ZeroMQ guide, chapter 4): a primary and
 * a backup exchange their state every heartbeat over PUB/SUB, and exactly
 * one of them, the active one, serves clients. Wire-compatible with the
 * guide's bstar servers: the state is one frame holding the digit 1-4; the
 * optional term frame that follows is what resolves a split brain.
 *
 * Clients vote: a request that reaches a passive server whose peer has
 * been silent for the whole expiry window makes it active. Requests a
 * server may not serve are dropped, as in the guide; the client times out
 * and tries the other server.
 *
 * Two ways to take requests:
 * - the built-in ROUTER frontend (`endpoints.frontend`): accepted requests
 *   arrive on {@link requests$};
 * - another component owning its socket (a Majordomo broker): it calls
 *   {@link vote} for each client request and serves it only when that
 *   returns true, and watches {@link state$} or {@link active$}. Or it hands a
 *   readable socket to {@link voter}, which filters its messages.
 *
 * @example
 * ```ts
 * const star = new BinaryStar({ role: "primary" });
 * star.requests$.subscribe((request) => void request.reply(request.body));
 * star.events$.subscribe((event) => log(event));
 * await star.start();
 * ```
 */
export class BinaryStar {
  /** Which server of the pair this is. */
  readonly role: BinaryStarRole;
  /** ms between two state messages. */
  readonly heartbeat: number;
  /** The peer expiry window in ms: heartbeat × peerExpiryMultiplier. */
  readonly window: number;
  /** Whether the state messages carry the term frame. */
  readonly terms: boolean;
  /** The current state; replays it to every new subscriber. Completes on close. */
  readonly state$: Observable<BinaryStarState>;
  /** `true` while active, `false` otherwise; replays the current value and emits on changes only. */
  readonly active$: Observable<boolean>;
  /** What the server does, as a typed stream; completes after `{ type: "close" }`. */
  readonly events$: Observable<BinaryStarEvent>;
  /** Requests on the built-in frontend that this server accepted (it was active, or the vote made it so). */
  readonly requests$: Observable<BinaryStarRequest>;

  private readonly configured: BinaryStarEndpoints;
  private readonly bindOptions: SocketOptions;
  private readonly peerOptions: SocketOptions;
  private resolved?: BinaryStarEndpoints;
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly states: BehaviorSubject<BinaryStarState>;
  private readonly activeFlags: BehaviorSubject<boolean>;
  private readonly events = new Subject<BinaryStarEvent>();
  private readonly requests = new Subject<BinaryStarRequest>();
  private context: FsmContext;
  private publisher?: Publisher;
  private subscriber?: Subscriber;
  private router?: Router;
  private readonly subscriptions: Subscription[] = [];
  private timer?: Subscription;
  private lastTickAt = 0;
  private lastHeardAt = 0;
  private peerDead = false;
  private lastPeer?: { state: BinaryStarState; term: number | undefined };
  private phase: "new" | "starting" | "running" | "closed" = "new";
  private released?: Promise<void>;

  constructor(options: BinaryStarOptions) {
    if (options.role !== "primary" && options.role !== "backup") {
      throw new BinaryStarError("invalid", `role must be "primary" or "backup" (got ${String(options.role)})`);
    }
    this.role = options.role;
    this.heartbeat = integerAtLeast("heartbeat", options.heartbeat ?? 1000, 1);
    this.window = this.heartbeat * integerAtLeast("peerExpiryMultiplier", options.peerExpiryMultiplier ?? 2, 2);
    this.terms = options.terms ?? true;
    this.configured = { ...GUIDE_ENDPOINTS[this.role], ...options.endpoints };
    for (const key of ["statePublisher", "stateSubscriber"] as const) {
      if (typeof this.configured[key] !== "string" || this.configured[key] === "") {
        throw new BinaryStarError("invalid", `endpoints.${key} must be a non-empty endpoint`);
      }
    }
    this.bindOptions = { ...options.socket };
    this.peerOptions = { ...options.peerSocket };
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = componentLogger("binary-star", { role: this.role }, options.logger);
    this.context = initialContext(this.role, this.window, this.scheduler.now());
    this.states = new BehaviorSubject<BinaryStarState>(this.context.state);
    this.activeFlags = new BehaviorSubject<boolean>(false);
    this.state$ = this.states.asObservable();
    this.active$ = this.activeFlags.asObservable();
    this.events$ = this.events.asObservable();
    this.requests$ = this.requests.asObservable();
  }

  /** The current state. */
  get state(): BinaryStarState {
    return this.context.state;
  }

  /** Whether this server is active. An active server fenced after a stall still refuses requests: {@link vote} decides. */
  get isActive(): boolean {
    return this.context.state === "active";
  }

  /** This server's term: it grows at each transition to active. */
  get term(): number {
    return this.context.term;
  }

  /** The endpoints as bound (ephemeral ports resolved) once started, as configured before. */
  get endpoints(): BinaryStarEndpoints {
    return this.resolved ?? this.configured;
  }

  /** The built-in ROUTER frontend, once started; `undefined` with `endpoints.frontend: null`. */
  get frontend(): Router | undefined {
    return this.router;
  }

  /** True once close() has been called; a closed server cannot be started again. */
  get closed(): boolean {
    return this.phase === "closed";
  }

  /**
   * Binds the state publisher (and the frontend, if configured), connects
   * to the peer's publisher and starts the heartbeat. Rejects with
   * `invalid` if called twice, `socket` if a bind fails (the server is then closed).
   */
  async start(): Promise<void> {
    if (this.phase !== "new") throw new BinaryStarError("invalid", `start() called on a ${this.phase} server`);
    this.phase = "starting";
    try {
      const publisher = new Publisher({ linger: 0, ...this.bindOptions, logger: this.logger });
      this.publisher = publisher;
      await publisher.bind(this.configured.statePublisher);
      const subscriber = new Subscriber({ linger: 0, ...this.peerOptions, logger: this.logger });
      this.subscriber = subscriber;
      subscriber.subscribe("");
      this.subscriptions.push(this.watchPeerHandshakes(subscriber));
      subscriber.connect(this.configured.stateSubscriber);
      let frontend: string | null = null;
      if (this.configured.frontend !== null) {
        const router = new Router({ linger: 0, ...this.bindOptions, logger: this.logger });
        this.router = router;
        await router.bind(this.configured.frontend);
        frontend = router.lastEndpoint;
        this.subscriptions.push(this.voter(router).subscribe((message) => this.request(router, message)));
      }
      this.resolved = { frontend, statePublisher: publisher.lastEndpoint ?? this.configured.statePublisher, stateSubscriber: this.configured.stateSubscriber };
      this.subscriptions.push(subscriber.messages$.subscribe((message) => this.onStateMessage(message)));
    } catch (error) {
      await this.close();
      throw new BinaryStarError("socket", "could not start the Binary Star server", { cause: error });
    }
    if (this.isClosed()) throw new BinaryStarError("closed", "closed while starting");
    this.phase = "running";
    const now = this.scheduler.now();
    // The peer gets one full window from now to show up, not from construction.
    this.context = { ...this.context, peerExpiry: now + this.window, fencedUntil: now };
    this.lastTickAt = now;
    this.lastHeardAt = now;
    this.emit({ type: "started", role: this.role, endpoints: this.endpoints });
    this.publish();
    const star = this;
    this.timer = this.scheduler.schedule(function tick() {
      star.tick();
      if (!star.isClosed()) this.schedule(undefined, star.heartbeat);
    }, this.heartbeat);
  }

  /**
   * Counts one client request (the guide's CLIENT_REQUEST event) and says
   * whether to serve it. This is the hook for components that own their
   * client socket, such as a Majordomo broker running as one server of a
   * pair: call it for every request, serve the request when it returns
   * true, drop it (send nothing) when false so the client fails over. A
   * passive server whose peer is dead becomes active in this call.
   * Always false before {@link start} and after {@link close}.
   */
  vote(): boolean {
    if (this.phase !== "running") return false;
    const now = this.scheduler.now();
    this.checkStall(now);
    const step = onClientRequest(this.context, now);
    this.apply(step, "client-request");
    const accepted = step.serve === true;
    this.emit(
      step.rejected
        ? { type: "vote", accepted, state: this.context.state, reason: step.rejected }
        : { type: "vote", accepted, state: this.context.state },
    );
    return accepted;
  }

  /**
   * Whether this server would serve a request now, without counting a vote:
   * active and not fenced. Runs the stall check first, so a server thawed
   * after a freeze answers false before its heartbeat has run. For traffic
   * that must not vote (a Majordomo broker's workers); never changes the state.
   */
  serves(): boolean {
    if (this.phase !== "running") return false;
    const now = this.scheduler.now();
    this.checkStall(now);
    return this.context.state === "active" && !isFenced(this.context, now);
  }

  /**
   * The guide's voter socket: the messages of `socket` (a readable socket
   * the caller bound), each one a client vote, filtered to those this server
   * serves. The others are dropped. Subscribe once: each subscription reads
   * the socket's shared message stream and votes for every message.
   */
  voter(socket: Readable): Observable<Message> {
    return socket.messages$.pipe(filter(() => this.vote()));
  }

  /**
   * Stops the heartbeat and closes the sockets (linger 0). Resolves once
   * they are released, just after the `close` event; every stream completes.
   * Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.released) return this.released;
    this.phase = "closed";
    this.timer?.unsubscribe();
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    const sockets = [this.router, this.subscriber, this.publisher].filter((socket) => socket !== undefined);
    for (const socket of sockets) if (!socket.closed) socket.close();
    this.requests.complete();
    this.states.complete();
    this.activeFlags.complete();
    this.released = Promise.all(sockets.map((socket) => socketReleased(socket))).then(() => {
      this.emit({ type: "close" });
      this.events.complete();
    });
    return this.released;
  }

  /**
   * A handshake the peer's publisher refuses (a wrong `peerSocket` key, a ZAP
   * denial) leaves this server deaf to its peer, which looks just like a dead
   * peer: report why as a `socket-error`, once per run of failures rather
   * than at every reconnect.
   */
  private watchPeerHandshakes(subscriber: Subscriber): Subscription {
    let failing = false;
    return subscriber.events$.subscribe((event) => {
      if (event.type === "handshake") failing = false;
      else if (event.type === "handshake:error" && !failing && !this.isClosed()) {
        failing = true;
        const error = new BinaryStarError("socket", `handshake with the peer's state publisher at ${event.address} failed`, { cause: event.error });
        this.logger.warn({ err: error }, "peer handshake failed");
        this.emit({ type: "socket-error", error });
      }
    });
  }

  private isClosed(): boolean {
    return this.phase === "closed";
  }

  private tick(): void {
    if (this.phase !== "running") return;
    const now = this.scheduler.now();
    this.checkStall(now);
    this.lastTickAt = now;
    if (!this.peerDead && now >= this.context.peerExpiry) {
      this.peerDead = true;
      this.emit({ type: "peer-dead", silentMs: now - this.lastHeardAt });
    }
    this.publish();
  }

  /** See {@link isStall}: a loop that did not tick for a whole window cannot trust what it knows. */
  private checkStall(now: number): void {
    const gap = now - this.lastTickAt;
    if (!isStall(this.context, gap)) return;
    this.lastTickAt = now;
    this.context = afterStall(this.context, now);
    this.logger.warn({ gapMs: gap }, "stalled: fencing for one peer window");
    this.emit({ type: "stalled", gapMs: gap, fencedUntil: this.context.fencedUntil });
  }

  private publish(): void {
    const publisher = this.publisher;
    if (!publisher || this.phase !== "running" || isFenced(this.context, this.scheduler.now())) return;
    publisher.send(encodeState(this.context, this.terms)).catch((error: unknown) => {
      if (this.phase === "running") this.emit({ type: "socket-error", error: new BinaryStarError("socket", "could not publish the state", { cause: error }) });
    });
  }

  private onStateMessage(message: Message): void {
    if (this.phase !== "running") return;
    const now = this.scheduler.now();
    this.checkStall(now);
    const decoded = decodeState(message);
    if (!decoded.ok) {
      this.emit({ type: "bad-state", reason: decoded.reason });
      return;
    }
    this.lastHeardAt = now;
    const last = this.lastPeer;
    if (this.peerDead || !last || last.state !== decoded.state || last.term !== decoded.term) {
      this.emit({ type: "peer-state", state: decoded.state, term: decoded.term });
    }
    this.peerDead = false;
    this.lastPeer = { state: decoded.state, term: decoded.term };
    this.apply(onPeerState(this.context, decoded.state, decoded.term, now), `peer-${decoded.state}`);
  }

  private apply(step: FsmStep, cause: BinaryStarFsmEvent): void {
    const before = this.context;
    this.context = step.context;
    if (step.splitBrain) {
      this.logger.warn(step.splitBrain, "split brain");
      this.emit({ type: "split-brain", ...step.splitBrain });
    }
    if (before.state !== step.context.state) {
      this.logger.info({ from: before.state, to: step.context.state, cause, term: step.context.term }, "state changed");
      this.emit({ type: "state-changed", from: before.state, to: step.context.state, cause, term: step.context.term });
      this.states.next(step.context.state);
      this.activeFlags.next(step.context.state === "active");
      // Tell the peer at once instead of at the next heartbeat: it settles sooner.
      this.publish();
    }
  }

  private request(router: Router, message: Message): void {
    const delimiter = message.findIndex((frame, index) => index > 0 && frame.length === 0);
    const envelope = delimiter > 0 ? message.slice(0, delimiter + 1) : message.slice(0, 1);
    const body = message.slice(envelope.length);
    this.requests.next({
      body,
      reply: (reply) => {
        const frames = Array.isArray(reply) ? (reply as readonly MessageLike[]) : [reply as MessageLike];
        return router.send([...envelope, ...frames]).catch((error: unknown) => {
          throw new BinaryStarError(router.closed ? "closed" : "socket", "could not send the reply", { cause: error });
        });
      },
    });
  }

  private emit(event: BinaryStarEvent): void {
    this.logger.debug(event, event.type);
    this.events.next(event);
  }
}
