import { from, interval, lastValueFrom, isObservable, type Observable, type SchedulerLike, type Subscription, timer } from "rxjs";
import type { Logger } from "pino";
import type { WorkerEvent } from "./events";
import { toFrames, type Body } from "./frames";
import { handlerReplies, isPromiseLike, resultAsObservable, type PatternHandler } from "../shared/handler";
import type { LinkFactory, MdpLink } from "./link";
import { decodeWorkerCommand, encodeWorkerCommand, type MdpVersion, type WorkerCommand } from "./protocol";
import { errorReplyBody, STATUS } from "./status";
import { takeRequestId, withRequestId } from "./request-ids";
import { handleOnce } from "../exactly-once/handle-once";
import type { IdempotencyStore } from "../exactly-once/store";

/** One request as a worker's handler sees it. */
export interface MajordomoRequest<Tx = unknown> {
  /** The service the worker registered. */
  readonly service: string;
  /** The client's address as the broker gave it (opaque). */
  readonly client: Buffer;
  /** The request body frames. */
  readonly body: Buffer[];
  /**
   * The client's request id, the same on each of its retries: set when the
   * client, the broker and this worker all speak the request-id extension
   * (Privateer peers over tcp or ipc); undefined for a plain MDP client.
   */
  readonly id?: string;
  /**
   * With `serve(handler, { idempotency: store })` and an `id`: the store's
   * open transaction. Write the handler's own effects through it, so they
   * commit together with the record of the id and its reply, or not at all.
   */
  readonly tx?: Tx;
}

/**
 * Answers one request, the {@link PatternHandler} shape every pattern takes: a
 * reply body, a Promise of one, or an Observable of several (0.2 sends each
 * as a PARTIAL and the last as the FINAL; 0.1 sends only the last as the
 * REPLY). A failure is answered with an error reply.
 */
export type RequestHandler<Tx = unknown> = PatternHandler<MajordomoRequest<Tx>, Body>;

/** Settings a session needs; the worker fills in defaults. */
export interface SessionSettings {
  readonly index: number;
  readonly service: string;
  readonly version: MdpVersion;
  readonly heartbeatInterval: number;
  readonly liveness: number;
  readonly reconnectInterval: number;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly linkFactory: LinkFactory;
  /** Brokers taken in turn, one per (re)connect; more than one for a broker pair. Empty: the factory decides. */
  readonly endpoints: readonly string[];
  readonly handler: RequestHandler;
  /** Makes requests with an id exactly-once (see `ServeOptions.idempotency`). */
  readonly idempotency?: IdempotencyStore<unknown>;
  readonly emit: (event: WorkerEvent) => void;
}

interface Busy {
  readonly client: Buffer;
  readonly generation: number;
  subscription?: Subscription;
}

/**
 * One worker socket's life: READY, heartbeats both ways, one request at a
 * time, and a fresh socket whenever the broker disconnects us or goes silent.
 */
export class WorkerSession {
  private link?: MdpLink;
  private linkSubscription?: Subscription;
  private ticker?: Subscription;
  private reconnectTimer?: Subscription;
  private generation = 0;
  private attempt = 0;
  private liveness: number;
  private heard = false;
  private busy?: Busy;
  private closed = false;
  /** Connections made so far; the next one goes to endpoints[turn % length]. */
  private turn = 0;
  /** Connections in a row that ended without the broker serving us (DISCONNECT, silence, or no connection). */
  private failures = 0;
  /** Set by drain() while a request is in progress: called once the session holds none. */
  private onIdle?: () => void;
  /** The current link's broker announced the request-id extension: its REQUESTs may carry id frames. */
  private brokerIds = false;

  constructor(private readonly settings: SessionSettings) {
    this.liveness = settings.liveness;
  }

  start(): void {
    this.connect();
  }

  /**
   * Sends DISCONNECT (as the RFC lets a worker do at any time) and closes
   * the socket; the result settles once the socket is released.
   */
  close(): void | Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reconnectTimer?.unsubscribe();
    this.send({ type: "disconnect" });
    return this.teardown();
  }

  /**
   * Closes as close() does, but only once the request in progress (if any) is
   * answered: its final reply goes out just before the DISCONNECT. If the
   * request is lost first (the broker disconnected us), it closes then.
   */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.busy) return Promise.resolve(this.close());
    return new Promise((resolve) => {
      this.onIdle = () => resolve(this.close());
    });
  }

  private connect(): void {
    if (this.closed) return;
    const { settings } = this;
    this.generation += 1;
    this.attempt += 1;
    const generation = this.generation;
    const { endpoints } = settings;
    const endpoint = endpoints.length > 0 ? endpoints[this.turn++ % endpoints.length] : undefined;
    const link = settings.linkFactory(endpoint);
    this.link = link;
    this.linkSubscription = link.messages$.subscribe((frames) => this.onMessage(frames, generation));
    this.brokerIds = false;
    if (link.events$) {
      const known = link.events$.subscribe((event) => {
        if (generation === this.generation && event.type === "connected") this.brokerIds = event.ids === true;
      });
      this.linkSubscription.add(known);
    }
    if (this.rotates() && link.events$) {
      // One broker of a pair being down is no reason to wait for liveness to run out: the other one may serve.
      const lost = link.events$.subscribe((event) => {
        if (generation !== this.generation || this.closed || event.type === "connected") return;
        settings.emit({ type: "broker-lost", session: settings.index });
        this.moveOn();
      });
      this.linkSubscription.add(lost);
    }
    this.liveness = settings.liveness;
    this.heard = false;
    this.send({ type: "ready", service: settings.service });
    this.ticker = interval(settings.heartbeatInterval, settings.scheduler).subscribe(() => this.tick());
    settings.emit({
      type: "ready",
      session: settings.index,
      service: settings.service,
      attempt: this.attempt,
      ...(endpoint === undefined ? {} : { broker: endpoint }),
    });
  }

  /** Drops the socket and anything in progress on it; the broker requeues what we held. */
  private teardown(): void | Promise<void> {
    this.ticker?.unsubscribe();
    this.ticker = undefined;
    if (this.busy) {
      const { client } = this.busy;
      this.busy.subscription?.unsubscribe();
      this.busy = undefined;
      this.settings.emit({ type: "reply-dropped", session: this.settings.index, client: client.toString("hex") });
    }
    this.linkSubscription?.unsubscribe();
    this.linkSubscription = undefined;
    const link = this.link;
    this.link = undefined;
    const released = link?.close();
    this.idle();
    return released;
  }

  /** Tells a pending drain() that no request is in progress any more. */
  private idle(): void {
    const onIdle = this.onIdle;
    this.onIdle = undefined;
    onIdle?.();
  }

  private tick(): void {
    const { settings } = this;
    // Reference brokers heartbeat only idle workers, so silence while we work on a request proves nothing.
    if (!this.heard && !this.busy) {
      this.liveness -= 1;
      if (this.liveness <= 0) {
        settings.emit({ type: "broker-lost", session: settings.index });
        if (this.rotates()) {
          this.moveOn();
          return;
        }
        void this.teardown();
        this.reconnectTimer = timer(settings.reconnectInterval, settings.scheduler).subscribe(() => this.connect());
        return;
      }
      settings.emit({ type: "heartbeat-missed", session: settings.index, liveness: this.liveness });
    }
    this.heard = false;
    this.send({ type: "heartbeat" });
  }

  private onMessage(frames: Buffer[], generation: number): void {
    if (generation !== this.generation || this.closed) return;
    const { settings } = this;
    let command: WorkerCommand;
    try {
      const decoded = decodeWorkerCommand(frames);
      if (decoded.version !== settings.version) throw new Error(`MDP ${decoded.version} message on a ${settings.version} worker`);
      command = decoded.command;
    } catch (error) {
      settings.emit({ type: "protocol-error", session: settings.index, message: (error as Error).message });
      return;
    }
    this.heard = true;
    this.liveness = settings.liveness;
    switch (command.type) {
      case "request": {
        this.failures = 0;
        // Only a broker that announced the extension adds id frames; from any other, the body is all body.
        const { id, body } = this.brokerIds ? takeRequestId(command.body) : { id: undefined, body: command.body };
        this.onRequest(command.client, body, generation, id);
        return;
      }
      case "disconnect":
        settings.emit({ type: "disconnect-received", session: settings.index });
        if (this.rotates()) {
          this.moveOn();
          return;
        }
        void this.teardown();
        this.connect();
        return;
      case "heartbeat":
        this.failures = 0;
        return;
      default:
        settings.emit({ type: "protocol-error", session: settings.index, message: `unexpected ${command.type} from broker` });
    }
  }

  private onRequest(client: Buffer, body: Buffer[], generation: number, id?: string): void {
    const { settings } = this;
    const clientKey = client.toString("hex");
    if (this.busy) {
      settings.emit({ type: "protocol-error", session: settings.index, message: "REQUEST while busy" });
      return;
    }
    settings.emit({ type: "request", session: settings.index, client: clientKey, ...(id === undefined ? {} : { requestId: id }) });
    // The id goes back with each reply, so the broker can check that the reply is for the request it holds.
    const tagged = (reply: Buffer[]): Buffer[] => (id === undefined ? reply : withRequestId(id, reply));
    const busy: Busy = { client, generation };
    this.busy = busy;
    let held: Buffer[] | undefined;
    const finish = (reply: Buffer[]): void => {
      if (this.busy !== busy) return;
      this.busy = undefined;
      // One request, one final reply: whatever ended it (completion, error, a value that cannot be
      // encoded), the handler's stream must stop, or an endless one runs for the worker's life.
      busy.subscription?.unsubscribe();
      this.send({ type: "final", client, body: tagged(reply) });
      settings.emit({ type: "reply", session: settings.index, client: clientKey, final: true });
      // Draining: DISCONNECT follows the reply at once, so no further REQUEST is taken on this socket.
      this.idle();
    };
    const request: MajordomoRequest = { service: settings.service, client, body, ...(id === undefined ? {} : { id }) };
    const store = settings.idempotency;
    let source: Observable<Body>;
    if (store && id !== undefined) {
      source = onceResult(store, settings.handler, request, id, () =>
        settings.emit({ type: "reply-replayed", session: settings.index, client: clientKey, requestId: id }),
      );
    } else {
      // The common handler returns its reply at once: answer it without building an Observable for it,
      // exactly as the Observable path would (synchronously, a throw or an unencodable value as an error reply).
      let result: ReturnType<RequestHandler>;
      try {
        result = settings.handler(request);
      } catch (error) {
        failed(error);
        return;
      }
      if (!isObservable(result) && !isPromiseLike<Body>(result)) {
        let reply: Buffer[];
        try {
          reply = toFrames(result);
        } catch (error) {
          failed(error);
          return;
        }
        finish(reply);
        return;
      }
      source = resultAsObservable(result);
    }
    const subscription = source.subscribe({
      next: (value) => {
        if (this.busy !== busy) return;
        if (held && settings.version === "0.2") {
          this.send({ type: "partial", client, body: tagged(held) });
          settings.emit({ type: "reply", session: settings.index, client: clientKey, final: false });
        }
        try {
          held = toFrames(value);
        } catch (error) {
          failed(error);
        }
      },
      error: (error: unknown) => failed(error),
      complete: () => finish(held ?? []),
    });
    function failed(error: unknown): void {
      const failure = error instanceof Error ? error : new Error(String(error));
      settings.emit({ type: "handler-error", session: settings.index, client: clientKey, error: failure });
      finish(errorReplyBody(STATUS.workerError, failure.message));
    }
    // A stream that failed during subscribe() finished before `subscription` existed: stop it now.
    if (this.busy === busy) busy.subscription = subscription;
    else subscription.unsubscribe();
  }

  /** Whether this session has several brokers (a pair) to take in turn. */
  private rotates(): boolean {
    return this.settings.endpoints.length > 1;
  }

  /**
   * Leaves this broker for the next one: at once, unless every broker in
   * the round has just failed us (a pair with no active broker yet, or both
   * down), in which case it waits `reconnectInterval` rather than spin.
   */
  private moveOn(): void {
    const { settings } = this;
    void this.teardown();
    // A drain() waiting for the request we just dropped has closed the session.
    if (this.closed) return;
    this.reconnectTimer?.unsubscribe();
    this.failures += 1;
    if (this.failures % settings.endpoints.length !== 0) {
      this.connect();
      return;
    }
    this.reconnectTimer = timer(settings.reconnectInterval, settings.scheduler).subscribe(() => this.connect());
  }

  private send(command: WorkerCommand): void {
    this.link?.send(encodeWorkerCommand(this.settings.version, command));
  }
}

/**
 * Runs the handler at most once per request id through the store: inside
 * the store's transaction, with `tx` on the request. Only the final reply is
 * recorded, and sent: a replay could not reproduce partial replies, so the
 * first delivery sends none either (a handler's Observable is run to its
 * last value). A handler that fails rolls back, records nothing, and is
 * answered with an error reply; a retry runs it again.
 */
function onceResult(
  store: IdempotencyStore<unknown>,
  handler: RequestHandler,
  request: MajordomoRequest,
  id: string,
  onReplay: () => void,
): Observable<Body> {
  const run = (tx: unknown): Promise<Buffer[]> =>
    lastValueFrom(handlerReplies(handler, { ...request, tx }), { defaultValue: [] as Body }).then(toFrames);
  return from(
    handleOnce(store, { id, body: request.body }, (_body, context) => run(context.tx)).then((outcome) => {
      if (outcome.replayed) onReplay();
      return outcome.reply;
    }),
  );
}
