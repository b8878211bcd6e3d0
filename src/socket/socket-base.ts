import { asyncScheduler, Observable, share, Subject, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import type { Message } from "../codec/frame";
import { PrivateerError, type ProtocolError } from "../errors";
import type { EngineOptions } from "../engine/zmtp-engine";
import type { ZapRequester } from "../engine/mechanism/zap-client";
import type { PeerInfo } from "../engine/peer";
import type { SocketType } from "../engine/socket-type";
import { componentLogger } from "../log";
import { Pipe, type PipeOwner } from "../pipe/pipe";
import { parseEndpoint } from "../transport/endpoint";
import { transportFor } from "../transport";
import type { Binding, Connection, PipeSpec, TransportHost } from "../transport/transport";
import type { SocketEvent } from "../transport/events";
import { toMessage, type MessageLike } from "./message";
import {
  defaultOptions,
  defineOptionProperties,
  securityConfig,
  type OptionEffects,
  type ResolvedOptions,
  type SocketOptionProperties,
  type SocketOptions,
  type SocketSettings,
} from "./options";
import { ReceiveQueue, SendQueue, type SendOutcome } from "./waiters";

export type { SendOutcome } from "./waiters";

const RESOLVED = Promise.resolve();
const LINGER_POLL_MS = 5;

/**
 * How engines reach the ZAP handler: through a socket (zap-requester.ts),
 * which extends this class, so it is loaded on first use; a static import
 * would be circular.
 */
const requestZap: ZapRequester = (request, signal) => import("./zap-requester").then(({ askZap }) => askZap(request, signal));

/**
 * The option properties (`linger`, `sendHighWaterMark`, ...): typed and
 * documented by {@link SocketOptions}, defined from the option table (see
 * `OPTIONS` in options.ts) by the class's static block.
 */
export interface SocketBase extends SocketOptionProperties {}

/**
 * Everything the socket types share: endpoints and lifecycle, options, pipes
 * and events (waiting send() and receive() calls queue in waiters.ts, the
 * options come from the table in options.ts). A socket type supplies
 * only its routing rules (`xsend`, `xrecv` and the pipe hooks), so each
 * reads like its RFC.
 *
 * Concurrent send() calls, and concurrent receive() calls, are served in
 * call order; none is ever refused as busy.
 */
export abstract class SocketBase {
  /** The socket's events as a typed stream; completes after `{ type: "close" }`. */
  readonly events$: Observable<SocketEvent>;
  readonly logger: Logger;
  readonly scheduler: SchedulerLike;

  protected readonly opts: ResolvedOptions = defaultOptions();
  /**
   * Whether close() waits (`linger`) for queued messages. A SUB queues only
   * subscriptions, which are worthless once it is closed: lingering on them
   * would keep a process alive for a publisher that never appears.
   */
  protected lingers = true;
  /** Every pipe the socket routes to. */
  protected readonly pipes = new Set<Pipe>();

  private readonly eventSubject = new Subject<SocketEvent>();
  private readonly bindings = new Map<string, Binding>();
  private readonly connections = new Map<string, Connection>();
  private readonly attached = new Set<Pipe>();
  /** Waiting send() calls. */
  private readonly sends: SendQueue;
  /** Waiting receive() calls and messages$ subscriptions. */
  private readonly receives: ReceiveQueue;
  /** What transports see of the socket: its identity, current options, pipes and events. */
  private readonly host: TransportHost;
  private lastBound: string | null = null;
  private isClosed = false;
  private stream$?: Observable<Message>;

  static {
    defineOptionProperties(
      SocketBase.prototype,
      (socket) => socket.opts,
      (socket) => socket.optionEffects,
    );
  }

  /**
   * Only the settings are read here; the options are applied by configure(),
   * which each socket type calls once its own fields (and option setters) exist.
   */
  protected constructor(
    readonly type: SocketType,
    options: SocketOptions & SocketSettings = {},
  ) {
    const { logger, scheduler } = options;
    this.logger = componentLogger("socket", { type }, logger);
    this.scheduler = scheduler ?? asyncScheduler;
    this.events$ = this.eventSubject.asObservable();
    this.sends = new SendQueue((message) => this.xsend(message), this.scheduler);
    this.receives = new ReceiveQueue(() => this.xrecv(), this.scheduler);
    this.host = {
      type,
      logger: this.logger,
      scheduler: this.scheduler,
      options: this.opts,
      engineOptions: (asServer) => this.engineOptions(asServer),
      createPipe: (endpoint, spec) => this.createPipe(endpoint, spec),
      admit: (pipe, peer) => this.xadmit(pipe, peer),
      emit: (event) => this.emit(event),
    };
  }

  /**
   * Applies constructor options through the property setters (which
   * validate them). Each socket type calls it at the end of its constructor,
   * once its own fields exist.
   */
  protected configure(options: object): void {
    const { logger: _logger, scheduler: _scheduler, ...rest } = options as SocketSettings & Record<string, unknown>;
    for (const [key, value] of Object.entries(rest)) {
      if (value === undefined) continue;
      // Only settable properties are options: `key in this` would also accept methods and read-only getters.
      if (!hasSetter(this, key)) throw new PrivateerError("EINVAL", `unknown option "${key}" for a ${this.type} socket`);
      (this as Record<string, unknown>)[key] = value;
    }
  }

  // ---- endpoints ---------------------------------------------------------

  /** True once close() has been called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The endpoint most recently bound, with wildcards resolved (e.g. the ephemeral port). */
  get lastEndpoint(): string | null {
    return this.lastBound;
  }

  /** Starts listening on an endpoint: `tcp://127.0.0.1:*`, `ipc:///tmp/x`, `inproc://name`. */
  async bind(address: string): Promise<void> {
    this.assertOpen();
    try {
      const endpoint = parseEndpoint(address, "bind");
      // A wildcard (`tcp://host:*`, `ipc://*`) resolves to a fresh address each time, so it may be bound again, as in libzmq.
      const wildcard = (endpoint.protocol === "tcp" && endpoint.port === 0) || (endpoint.protocol === "ipc" && endpoint.path === "*");
      if (!wildcard && this.bindings.has(address)) throw new PrivateerError("EADDRINUSE", `${address} is already bound`);
      const binding = await transportFor(endpoint).bind(endpoint, this.host);
      if (this.isClosed) {
        await binding.close();
        throw new PrivateerError("EBADF", "Socket is closed");
      }
      this.bindings.set(binding.endpoint, binding);
      if (binding.endpoint !== address) this.bindings.set(address, binding);
      this.lastBound = binding.endpoint;
      this.emit({ type: "bind", address: binding.endpoint });
    } catch (error) {
      const failure =
        error instanceof PrivateerError ? error : new PrivateerError("EINVAL", `cannot bind ${address}`, { cause: error });
      this.emit({ type: "bind:error", address, error: failure });
      throw failure;
    }
  }

  /** Stops listening on an endpoint (as given to bind, or as resolved) and closes its connections. */
  async unbind(address: string): Promise<void> {
    this.assertOpen();
    const binding = this.bindings.get(address);
    if (!binding) throw new PrivateerError("ENOENT", `${address} is not bound`);
    for (const [key, value] of this.bindings) if (value === binding) this.bindings.delete(key);
    await binding.close();
    this.emit({ type: "unbind", address: binding.endpoint });
  }

  /** Connects to an endpoint; the connection is made, and remade, in the background. */
  connect(address: string, options: { routingId?: string | Buffer } = {}): void {
    this.assertOpen();
    const endpoint = parseEndpoint(address, "connect");
    if (this.connections.has(address)) throw new PrivateerError("EINVAL", `already connected to ${address}`);
    const routingId = options.routingId === undefined ? undefined : Buffer.from(options.routingId);
    this.connections.set(address, transportFor(endpoint).connect(endpoint, this.host, { routingId }));
  }

  /** Drops a connection made with connect(); its queued messages are discarded. */
  disconnect(address: string): void {
    this.assertOpen();
    const connection = this.connections.get(address);
    if (!connection) throw new PrivateerError("ENOENT", `not connected to ${address}`);
    this.connections.delete(address);
    connection.close();
  }

  /**
   * Closes the socket. Pending receive() and send() calls fail with EAGAIN.
   * Queued outgoing messages are flushed for up to `linger` ms in the
   * background (-1: until sent), then every connection is closed.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const closing = new PrivateerError("EAGAIN", "Socket was closed");
    this.sends.close(closing);
    this.receives.close(closing);
    const linger = this.lingers ? this.opts.linger : 0;
    if (linger === 0 || this.allFlushed()) {
      this.teardown();
      return;
    }
    // Polled rather than event-driven: "flushed" spans pipes, engines and kernel buffers.
    const started = this.scheduler.now();
    const poll = (): void => {
      if (this.allFlushed() || (linger > 0 && this.scheduler.now() - started >= linger)) this.teardown();
      else this.scheduler.schedule(poll, LINGER_POLL_MS);
    };
    this.scheduler.schedule(poll, LINGER_POLL_MS);
  }

  // ---- options (the rest are defined from the option table) --------------

  /**
   * The security mechanism the options select, as zeromq.js reports it
   * (ZMQ_MECHANISM): `null` for NULL, `"plain"` or `"curve"`. Read-only: the
   * PLAIN and CURVE options choose it.
   */
  get securityMechanism(): null | "plain" | "curve" {
    const mechanism = this.opts.mechanism;
    return mechanism === "NULL" ? null : mechanism === "PLAIN" ? "plain" : "curve";
  }

  /** What option changes reach beyond `opts`. */
  private readonly optionEffects: OptionEffects = {
    sendHighWaterMarkChanged: (mark) => {
      for (const pipe of this.pipes) pipe.sendHighWaterMark = mark;
      this.processSends();
    },
    receiveHighWaterMarkChanged: (mark) => {
      for (const pipe of this.pipes) pipe.receiveHighWaterMark = mark;
    },
  };

  // ---- sending and receiving (exposed by the capability subclasses) -----

  protected sendMessage(value: MessageLike | readonly MessageLike[]): Promise<void> {
    if (this.isClosed) return Promise.reject(new PrivateerError("EBADF", "Socket is closed"));
    let message: Message;
    try {
      message = toMessage(value);
    } catch (error) {
      return Promise.reject(new PrivateerError("EINVAL", (error as Error).message, { cause: error }));
    }
    if (this.sends.idle) {
      const outcome = this.xsend(message);
      if (outcome === true) return RESOLVED;
      if (outcome !== false) return Promise.reject(outcome);
    }
    return this.sends.wait(message, this.opts.sendTimeout);
  }

  protected receiveMessage(): Promise<Message> {
    if (this.isClosed) return Promise.reject(new PrivateerError("EBADF", "Socket is closed"));
    if (this.receives.idle) {
      const message = this.xrecv();
      if (message !== undefined) return Promise.resolve(message);
    }
    return this.receives.wait(this.opts.receiveTimeout);
  }

  protected messageIterator(): AsyncIterator<Message, undefined> {
    return {
      next: () => {
        // Fast path: a message is already waiting and nobody is ahead of us.
        if (!this.isClosed && this.receives.idle) {
          const ready = this.xrecv();
          if (ready !== undefined) return Promise.resolve({ value: ready, done: false as const });
        }
        return this.receiveMessage().then(
          (value) => ({ value, done: false as const }),
          (error: PrivateerError) => {
            if (this.isClosed && (error.code === "EAGAIN" || error.code === "EBADF")) {
              return { value: undefined, done: true as const };
            }
            throw error;
          },
        );
      },
      return: () => Promise.resolve({ value: undefined, done: true as const }),
    };
  }

  /** One shared stream of received messages; receiving runs while anyone subscribes. */
  protected messageStream(): Observable<Message> {
    this.stream$ ??= new Observable<Message>((subscriber) => {
      if (this.isClosed) {
        subscriber.complete();
        return undefined;
      }
      return this.receives.stream(
        (message) => subscriber.next(message),
        (error) => (this.isClosed ? subscriber.complete() : subscriber.error(error)),
      );
    }).pipe(share());
    return this.stream$;
  }

  // ---- routing hooks for socket types -----------------------------------

  /** Sends (or, by the type's rules, drops) a message; false means "wait for room". */
  protected abstract xsend(message: Message): SendOutcome;
  /** The next message the application should see, if any. */
  protected abstract xrecv(): Message | undefined;
  /** A pipe joins the socket. */
  protected abstract xattach(pipe: Pipe): void;
  /** A pipe leaves the socket for good. */
  protected abstract xdetach(pipe: Pipe): void;
  /** A pipe has inbound messages. */
  protected abstract xreadable(pipe: Pipe): void;
  /** May this peer use this pipe? */
  protected xadmit(_pipe: Pipe, _peer: PeerInfo): ProtocolError | undefined {
    return undefined;
  }
  /** A pipe has room again. */
  protected xwritable(_pipe: Pipe): void {}
  /** A connection behind `pipe` completed its handshake (also after a reconnect). */
  protected xconnected(_pipe: Pipe): void {}
  /** The connection behind `pipe` is gone (the pipe may reconnect, or close once drained). */
  protected xdisconnected(_pipe: Pipe): void {}

  /** Socket types call this when messages may have become receivable outside pipe events. */
  protected processReceives(): void {
    this.receives.process();
  }

  /** Socket types call this when sends may now succeed outside pipe events. */
  protected processSends(): void {
    this.sends.process();
  }

  // ---- the faces shown to pipes and transports ----------------------------

  /**
   * What pipes call back into. A separate object, not the socket itself, so
   * that these hooks are not part of the socket's public API.
   */
  private readonly pipeOwner: PipeOwner = {
    pipeReadable: (pipe, deferWake) => {
      this.xreadable(pipe);
      if (deferWake) this.receives.processSoon();
      else this.receives.process();
    },
    pipeWritable: (pipe) => {
      this.xwritable(pipe);
      this.sends.process();
    },
    pipeConnected: (pipe) => {
      if (!this.attached.has(pipe)) this.attachPipe(pipe);
      this.xconnected(pipe);
      this.sends.process();
    },
    pipeDisconnected: (pipe) => this.xdisconnected(pipe),
    pipeClosed: (pipe) => {
      this.pipes.delete(pipe);
      if (this.attached.delete(pipe)) this.xdetach(pipe);
      // A REQ or REP waiting on this pipe may now be free to act.
      this.sends.process();
    },
  };

  private engineOptions(asServer: boolean): EngineOptions {
    const o = this.opts;
    return {
      socketType: this.type,
      routingId: o.routingId,
      metadata: o.metadataProperties,
      asServer,
      maxMessageSize: o.maxMessageSize,
      heartbeatInterval: o.heartbeatInterval,
      heartbeatTimeout: o.heartbeatTimeout,
      heartbeatTimeToLive: o.heartbeatTimeToLive,
      handshakeInterval: o.handshakeInterval,
      security: securityConfig(o),
      zap: requestZap,
      scheduler: this.scheduler,
      logger: this.logger,
    };
  }

  private createPipe(endpoint: string, spec: PipeSpec): Pipe {
    const o = this.opts;
    const pipe = new Pipe(endpoint, o.sendHighWaterMark, o.receiveHighWaterMark, spec.persistent, o.conflate);
    pipe.owner = this.pipeOwner;
    pipe.connectRoutingId = spec.routingId;
    this.pipes.add(pipe);
    if (spec.early) this.attachPipe(pipe);
    return pipe;
  }

  private emit(event: SocketEvent): void {
    this.logger.debug(event, event.type);
    this.eventSubject.next(event);
  }

  // ---- internals ----------------------------------------------------------

  private attachPipe(pipe: Pipe): void {
    this.attached.add(pipe);
    this.xattach(pipe);
    if (pipe.readable) this.pipeOwner.pipeReadable(pipe);
    this.sends.process();
  }

  private allFlushed(): boolean {
    for (const pipe of this.pipes) if (!pipe.flushed) return false;
    return true;
  }

  private teardown(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
    const bindings = new Set(this.bindings.values());
    this.bindings.clear();
    const released = [...bindings].map((binding) =>
      binding.close().catch((error: unknown) => this.logger.warn({ err: error }, "error closing listener")),
    );
    for (const pipe of [...this.pipes]) pipe.close();
    // "close" comes last, once every listener has let go of its address, so a
    // program that waits for it can bind the same address again at once.
    void Promise.all(released).then(() => {
      this.emit({ type: "close" });
      this.eventSubject.complete();
    });
  }

  private assertOpen(): void {
    if (this.isClosed) throw new PrivateerError("EBADF", "Socket is closed");
  }
}

/** Options are the settable properties: the table's, and the ones a socket type adds (ROUTER's `mandatory`, ...). */
function hasSetter(object: object, key: string): boolean {
  for (let proto = Object.getPrototypeOf(object); proto; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor) return descriptor.set !== undefined;
  }
  return false;
}
