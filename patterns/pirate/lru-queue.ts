import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { Router, type SocketOptions } from "../../src";
import { componentLogger } from "../../src";
import { Queue } from "../../src/util/queue";
import { PirateError } from "./errors";
import type { PirateQueueEvent } from "./events";
import { idText } from "./ppp";
import { nonNegative } from "../shared/validate";
import { WorkerPool } from "./worker-pool";
import { Lifecycle } from "../shared/lifecycle";
import { socketReleased } from "../shared/released";

/** Where a queue is in its life: new, binding its sockets (start()), routing, or closed. */
export type PirateQueueState = "new" | "starting" | "running" | "closed";

/** Options shared by the Simple and Paranoid Pirate queues. */
export interface PirateQueueOptions {
  /** Where clients connect (a ROUTER binds here). Default `tcp://*:5555`, as in the zguide. */
  frontend?: string;
  /** Where workers connect (a ROUTER binds here). Default `tcp://*:5556`. */
  backend?: string;
  /**
   * Requests held while no worker is idle; when full, new requests are
   * dropped (and reported as `request-dropped`; the client learns of it only
   * by its timeout) so a flood cannot exhaust memory. 0 = unbounded, the
   * default, as the guide's queues and the Majordomo broker: a burst larger
   * than any fixed bound would otherwise be dropped silently while workers
   * are merely busy.
   */
  maxQueuedRequests?: number;
  /**
   * Options for both ROUTER sockets, applied over the default `linger: 0`.
   * The queue binds both, so it takes a mechanism's server role: over
   * CURVE, `curveServer: true` and the queue's `curveSecretKey` (CURVE
   * servers bind; clients and workers connect with the queue's public key
   * as their `curveServerKey`). Default: none (NULL mechanism).
   */
  socket?: SocketOptions;
  /** Options for the frontend ROUTER only (clients), merged over `socket`, e.g. its own `zapDomain`. */
  frontendSocket?: SocketOptions;
  /** Options for the backend ROUTER only (workers), merged over `socket`, e.g. its own `zapDomain`. */
  backendSocket?: SocketOptions;
  /** Parent logger. Default: silent. */
  logger?: Logger;
  /** Scheduler for the queue's timers; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** How the backend wire format of a queue flavour reads one worker message (routing id already removed). */
export type WorkerMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "heartbeat" }
  | { readonly kind: "reply"; readonly reply: Buffer[] }
  | { readonly kind: "invalid"; readonly reason: string };

interface PendingRequest {
  /** The queue-local number carried by this request's events. */
  readonly id: number;
  readonly client: Buffer;
  readonly frames: Buffer[];
}

/**
 * The load-balancing broker both Pirate queues share: a ROUTER for clients,
 * a ROUTER for workers, and a least-recently-used list of idle workers. A
 * request goes to the worker that has waited longest; the reply goes back
 * to the client named in its first frame. Flavours differ only in how
 * worker messages are framed and whether heartbeats run.
 */
export abstract class LruQueue {
  /**
   * What the queue does, as a typed stream; completes after `{ type: "close" }`.
   * Hot: an event is delivered only to subscribers present when it happens
   * (subscribe before start() to see `started`). For the current state at
   * any time use {@link state$}.
   */
  readonly events$: Observable<PirateQueueEvent>;
  /** The queue's state; replays the current one to each new subscriber, completes after "closed". */
  readonly state$: Observable<PirateQueueState>;

  protected readonly frontend: Router;
  protected readonly backend: Router;
  protected readonly pool: WorkerPool;
  protected readonly scheduler: SchedulerLike;
  protected readonly logger: Logger;

  private readonly pending = new Queue<PendingRequest>();
  /** The request each busy worker was given, by worker key, so its reply event names the request. */
  private readonly assigned = new Map<string, number>();
  private nextRequest = 0;
  private readonly subscriptions: Subscription[] = [];
  private readonly frontendAddress: string;
  private readonly backendAddress: string;
  private readonly maxQueued: number;
  private readonly life: Lifecycle<PirateQueueEvent, PirateQueueState>;

  protected constructor(component: string, liveness: number, options: PirateQueueOptions) {
    this.frontendAddress = options.frontend ?? "tcp://*:5555";
    this.backendAddress = options.backend ?? "tcp://*:5556";
    this.maxQueued = nonNegative("maxQueuedRequests", options.maxQueuedRequests ?? 0);
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = componentLogger(component, {}, options.logger);
    this.pool = new WorkerPool(liveness);
    this.life = new Lifecycle<PirateQueueEvent, PirateQueueState>("new", this.logger);
    this.events$ = this.life.events$;
    this.state$ = this.life.state$;
    this.frontend = new Router({ linger: 0, ...options.socket, ...options.frontendSocket, logger: this.logger });
    this.backend = new Router({ linger: 0, ...options.socket, ...options.backendSocket, logger: this.logger });
  }

  /** The resolved frontend endpoint once started (e.g. with the ephemeral port). */
  get frontendEndpoint(): string | null {
    return this.frontend.lastEndpoint;
  }

  /** The resolved backend endpoint once started. */
  get backendEndpoint(): string | null {
    return this.backend.lastEndpoint;
  }

  /** Workers known to the queue, idle or busy. */
  get workerCount(): number {
    return this.pool.size;
  }

  /** Workers waiting for a request. */
  get idleWorkerCount(): number {
    return this.pool.idleCount;
  }

  /** Requests waiting for an idle worker. */
  get queuedRequestCount(): number {
    return this.pending.length;
  }

  /** The queue's current state (what {@link state$} replays). */
  get state(): PirateQueueState {
    return this.life.state;
  }

  /** Binds both sockets and starts routing. Rejects if a bind fails (the queue is then closed). */
  async start(): Promise<void> {
    if (this.state !== "new") throw new PirateError("invalid", `queue cannot start: it is ${this.state}`);
    this.life.enter("starting");
    try {
      await this.backend.bind(this.backendAddress);
      await this.frontend.bind(this.frontendAddress);
    } catch (error) {
      void this.close();
      throw new PirateError("socket", "queue could not bind its endpoints", { cause: error });
    }
    if (this.isClosed()) throw new PirateError("closed", "queue was closed while starting");
    this.life.enter("running");
    this.subscriptions.push(
      this.backend.messages$.subscribe({
        next: (frames) => this.onBackend(frames),
        error: (error: unknown) => this.logger.error({ err: error }, "backend stream failed"),
      }),
      this.frontend.messages$.subscribe({
        next: (frames) => this.onFrontend(frames),
        error: (error: unknown) => this.logger.error({ err: error }, "frontend stream failed"),
      }),
    );
    this.onStart();
    this.emit({ type: "started", frontend: this.frontend.lastEndpoint!, backend: this.backend.lastEndpoint! });
  }

  /**
   * Stops routing and closes both sockets at once (linger 0); waiting
   * requests are discarded. Resolves once both sockets are released (their
   * endpoints can be bound again); the `close` event comes just before.
   * Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.life.close("closed", () => {
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      this.pending.clear();
      const released = Promise.all([socketReleased(this.frontend), socketReleased(this.backend)]);
      this.frontend.close();
      this.backend.close();
      return released;
    });
  }

  /** Reads one worker message (after its routing id) in the flavour's framing. */
  protected abstract decodeWorker(frames: Buffer[]): WorkerMessage;
  /** Frames (after the worker's routing id) that carry a client request to a worker. */
  protected abstract encodeRequest(request: Buffer[]): Buffer[];
  /** Called once both sockets are bound and routing has begun. */
  protected onStart(): void {}

  protected emit(event: PirateQueueEvent): void {
    this.life.emit(event);
  }

  protected sendToWorker(id: Buffer, frames: Buffer[]): void {
    this.backend.send([id, ...frames]).catch((error: unknown) => this.logger.warn({ err: error }, "backend send failed"));
  }

  /** Ties a subscription (e.g. a timer) to the queue's life: close() ends it. */
  protected track(subscription: Subscription): void {
    this.subscriptions.push(subscription);
  }

  /** Forgets which request a worker held (it is gone) and returns that request's number, if any. */
  protected takeAssignment(id: Buffer): number | undefined {
    const request = this.assigned.get(idText(id));
    this.assigned.delete(idText(id));
    return request;
  }

  protected isClosed(): boolean {
    return this.state === "closed";
  }

  private onFrontend(frames: Buffer[]): void {
    const client = frames[0]!;
    if (frames.length < 2) {
      this.emit({ type: "protocol-error", side: "frontend", peer: idText(client), reason: "empty request" });
      return;
    }
    const request: PendingRequest = { id: ++this.nextRequest, client, frames };
    const worker = this.pool.take();
    if (worker) {
      this.dispatch(worker.id, request);
      return;
    }
    if (this.maxQueued > 0 && this.pending.length >= this.maxQueued) {
      this.emit({ type: "request-dropped", request: request.id, client: idText(client), queued: this.pending.length });
      return;
    }
    this.pending.push(request);
    this.emit({ type: "request-queued", request: request.id, client: idText(client), queued: this.pending.length });
  }

  private onBackend(frames: Buffer[]): void {
    const [id, ...rest] = frames;
    const message = this.decodeWorker(rest);
    switch (message.kind) {
      case "invalid":
        this.emit({ type: "protocol-error", side: "backend", peer: idText(id!), reason: message.reason });
        return;
      case "heartbeat": {
        // A heartbeat from a worker we do not know (we restarted, or expired it too eagerly) re-admits it, as ppqueue does.
        const known = this.pool.get(id!);
        if (known) known.liveness.heard();
        else this.workerReady(id!);
        return;
      }
      case "ready":
        // READY from a busy worker means it gave up on its request (e.g. the handler failed).
        this.takeAssignment(id!);
        this.workerReady(id!);
        return;
      case "reply": {
        const client = message.reply[0]!;
        this.frontend.send(message.reply).catch((error: unknown) => this.logger.warn({ err: error }, "frontend send failed"));
        const request = this.takeAssignment(id!);
        this.emit({
          type: "reply-forwarded",
          ...(request === undefined ? {} : { request }),
          client: idText(client),
          worker: idText(id!),
        });
        this.workerReady(id!);
        return;
      }
    }
  }

  private workerReady(id: Buffer): void {
    this.pool.ready(id);
    this.emit({ type: "worker-ready", worker: idText(id), idle: this.pool.idleCount });
    while (this.pending.length > 0) {
      const worker = this.pool.take();
      if (!worker) return;
      this.dispatch(worker.id, this.pending.shift()!);
    }
  }

  private dispatch(worker: Buffer, request: PendingRequest): void {
    this.sendToWorker(worker, this.encodeRequest(request.frames));
    this.assigned.set(idText(worker), request.id);
    this.emit({ type: "request-dispatched", request: request.id, client: idText(request.client), worker: idText(worker) });
  }
}
