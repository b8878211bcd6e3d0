import { concatMap, type Observable } from "rxjs";
import type { Logger } from "pino";
import { Request, type MessageLike, type SocketOptions } from "../../src";
import { componentLogger } from "../../src";
import { PirateError } from "./errors";
import type { PirateWorkerEvent, PirateWorkerState } from "./events";
import { Lifecycle } from "../shared/lifecycle";
import { socketReleased } from "../shared/released";
import { replyFrames, runHandler, type PirateHandler } from "./handler";
import { pppReadyFrame, splitEnvelope } from "./ppp";

/** Options of a {@link SimplePirateWorker}. */
export interface SimplePirateWorkerOptions {
  /** Routing id of the worker's REQ socket; by default the queue's ROUTER makes one up. */
  routingId?: string | Buffer;
  /**
   * Options for the worker's REQ socket, applied over the default
   * `linger: 0` (`routingId` above wins over one given here). The worker
   * connects to the queue's backend, so it takes a mechanism's client role:
   * over CURVE, the queue's public key as `curveServerKey` and this worker's
   * `curveSecretKey` (CURVE servers bind, clients connect). Default: none.
   */
  socket?: SocketOptions;
  /** Parent logger. Default: silent. */
  logger?: Logger;
}

/**
 * The options-object form of the {@link SimplePirateWorker} constructor, the shape
 * the Majordomo worker takes: the queue's endpoint beside the other options.
 */
export interface SimplePirateWorkerConfig extends SimplePirateWorkerOptions {
  /** The queue's backend endpoint, e.g. `tcp://127.0.0.1:5556`. */
  endpoint: string;
}

/**
 * The zguide's Simple Pirate worker (`spworker`): a REQ socket that sends
 * READY (`01`) and then answers each request with the handler. It has no
 * heartbeats, so it cannot notice a dead queue; pair it with
 * {@link SimplePirateQueue}, or use {@link ParanoidPirateWorker}.
 */
export class SimplePirateWorker {
  /**
   * What the worker does (connecting, ready-sent, request, reply-sent,
   * handler-error, close). Hot: events are not replayed, so subscribe
   * before serve(); {@link state$} replays the current state.
   */
  readonly events$: Observable<PirateWorkerEvent>;
  /** The worker's state; replays the current one to each new subscriber, completes after "closed". */
  readonly state$: Observable<PirateWorkerState>;

  private readonly life: Lifecycle<PirateWorkerEvent, PirateWorkerState>;
  private readonly socket: Request;
  private readonly logger: Logger;
  private serving = false;

  /** The queue's backend endpoint this worker connects to. */
  readonly endpoint: string;

  /** One options object, `endpoint` among them (as the Majordomo worker takes its `broker`). */
  constructor(config: SimplePirateWorkerConfig);
  /** The queue's backend endpoint, then the options. */
  constructor(endpoint: string, options?: SimplePirateWorkerOptions);
  constructor(first: string | SimplePirateWorkerConfig, second: SimplePirateWorkerOptions = {}) {
    const positional = typeof first === "string";
    const endpoint = positional ? first : (first as SimplePirateWorkerConfig | undefined)?.endpoint;
    if (typeof endpoint !== "string") throw new PirateError("invalid", "a Pirate worker needs the queue's endpoint");
    const options: SimplePirateWorkerOptions = positional ? second : first;
    this.endpoint = endpoint;
    this.logger = componentLogger("simple-pirate-worker", { endpoint }, options.logger);
    this.socket = new Request({
      linger: 0,
      ...options.socket,
      logger: this.logger,
      ...(options.routingId ? { routingId: options.routingId } : {}),
    });
    this.life = new Lifecycle<PirateWorkerEvent, PirateWorkerState>("new", this.logger);
    this.events$ = this.life.events$;
    this.state$ = this.life.state$;
  }

  /** True once close() has been called; serve() then throws `closed`. */
  get closed(): boolean {
    return this.socket.closed;
  }

  /** The worker's current state (what {@link state$} replays). */
  get state(): PirateWorkerState {
    return this.life.state;
  }

  /** Connects, sends READY and answers requests with `handler` until close(). Call it once. */
  serve(handler: PirateHandler): this {
    if (this.socket.closed) throw new PirateError("closed", "worker is closed");
    if (this.serving) throw new PirateError("invalid", "worker is already serving");
    this.serving = true;
    this.socket.connect(this.endpoint);
    this.life.enter("connecting");
    this.emit({ type: "connecting", endpoint: this.endpoint, attempt: 1 });
    this.start(handler).catch((error: unknown) => this.failed(error));
    return this;
  }

  /**
   * Closes the socket at once (linger 0); a request being handled gets no
   * reply. Resolves once the socket is released; the `close` event comes
   * just before. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.life.close("closed", () => {
      const released = socketReleased(this.socket);
      this.socket.close();
      return released;
    });
  }

  /** Sends READY, then answers each request the socket delivers, one at a time and in order. */
  private async start(handler: PirateHandler): Promise<void> {
    await this.socket.send(pppReadyFrame());
    if (this.socket.closed) return;
    this.life.enter("connected");
    this.emit({ type: "ready-sent", endpoint: this.endpoint });
    // messages$ completes when the socket closes, which ends this subscription.
    this.socket.messages$
      .pipe(concatMap((frames) => this.answer(handler, frames)))
      .subscribe({ error: (error: unknown) => this.failed(error) });
  }

  private async answer(handler: PirateHandler, frames: Buffer[]): Promise<void> {
    const { envelope, body } = splitEnvelope(frames);
    this.emit({ type: "request", frames: body.length });
    let reply: MessageLike[];
    let answered = true;
    try {
      const content = replyFrames(await runHandler(handler, body));
      if (content.length === 0) throw new PirateError("invalid", "a reply needs at least one frame");
      reply = [...envelope, ...content];
    } catch (error) {
      answered = false;
      this.emit({ type: "handler-error", error });
      // REQ must send before it may receive again; READY tells the queue we are free without answering.
      reply = [pppReadyFrame()];
    }
    if (this.socket.closed) return;
    await this.socket.send(reply);
    if (answered) this.emit({ type: "reply-sent", frames: reply.length - envelope.length });
  }

  /** A send failed: the worker stops answering (a closed socket is no failure). */
  private failed(error: unknown): void {
    if (!this.socket.closed) this.logger.error({ err: error }, "worker loop failed");
  }

  private emit(event: PirateWorkerEvent): void {
    this.life.emit(event);
  }
}
