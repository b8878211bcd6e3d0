import { asyncScheduler, Observable, share, Subject, type SchedulerLike, type Subscription } from "rxjs";
import type { Logger } from "pino";
import type { Message } from "../codec/frame";
import { PrivateerError, type ProtocolError } from "../errors";
import type { EngineOptions } from "../engine/zmtp-engine";
import type { SecurityConfig } from "../engine/mechanism";
import { PLAIN_CREDENTIAL_MAX } from "../engine/mechanism/plain";
import { curveKeyOption, keyText, SecretKey } from "../engine/mechanism/curve-keys";
import type { PeerInfo } from "../engine/peer";
import type { SocketType } from "../engine/socket-type";
import { componentLogger } from "../log";
import { Pipe, type PipeOwner } from "../pipe/pipe";
import { parseEndpoint } from "../transport/endpoint";
import { transportFor } from "../transport";
import type { Binding, Connection, PipeSpec, TransportHost } from "../transport/transport";
import { Queue } from "../util/queue";
import type { SocketEvent } from "../transport/events";
import { toMessage, type MessageLike } from "./message";
import { applicationProperties, defaultOptions, type ResolvedOptions, type SocketOptions, type SocketSettings } from "./options";

/** What `xsend` reports: sent (or dropped by the socket's rules), must wait for room, or failed. */
export type SendOutcome = true | false | PrivateerError;

interface SendWaiter {
  readonly message: Message;
  resolve(): void;
  reject(error: Error): void;
  timer?: Subscription;
  settled: boolean;
}

interface Receiver {
  /** Stream receivers (messages$) stay registered after each message. */
  readonly stream: boolean;
  deliver(message: Message): void;
  fail(error: Error): void;
  timer?: Subscription;
  settled: boolean;
}

const RESOLVED = Promise.resolve();
const LINGER_POLL_MS = 5;

/** The TransportHost view of a socket; option getters read the socket's current values. */
function createHost(
  socket: SocketBase,
  hooks: Pick<TransportHost, "engineOptions" | "createPipe" | "admit" | "emit"> & { options: () => ResolvedOptions },
): TransportHost {
  const { options, ...rest } = hooks;
  return {
    ...rest,
    // Getters, not values: the host is built while the socket's fields are still being set.
    get type() {
      return socket.type;
    },
    get logger() {
      return socket.logger;
    },
    get scheduler() {
      return socket.scheduler;
    },
    get ownRoutingId() {
      return options().routingId;
    },
    get reconnectInterval() {
      return options().reconnectInterval;
    },
    get reconnectMaxInterval() {
      return options().reconnectMaxInterval;
    },
    get immediate() {
      return options().immediate;
    },
    get backlog() {
      return options().backlog;
    },
    get ipv6() {
      return options().ipv6;
    },
    get transferLargeFrames() {
      return options().transferLargeFrames;
    },
  };
}

/**
 * Everything the socket types share: endpoints, options, events, pipes, and
 * the queues of waiting send() and receive() calls. A socket type supplies
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
  private readonly sendWaiters = new Queue<SendWaiter>();
  private readonly receivers = new Queue<Receiver>();
  private readonly attached = new Set<Pipe>();
  private lastBound: string | null = null;
  private isClosed = false;
  private receiving = false;
  private wakeScheduled = false;
  private sending = false;
  private stream$?: Observable<Message>;

  protected constructor(
    readonly type: SocketType,
    options: SocketOptions & SocketSettings = {},
  ) {
    const { logger, scheduler, ...socketOptions } = options;
    this.logger = componentLogger("socket", { type }, logger);
    this.scheduler = scheduler ?? asyncScheduler;
    this.events$ = this.eventSubject.asObservable();
    void socketOptions;
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
    for (let w = this.sendWaiters.shift(); w; w = this.sendWaiters.shift()) this.settleSend(w, closing);
    for (let r = this.receivers.shift(); r; r = this.receivers.shift()) this.settleReceive(r, undefined, closing);
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

  // ---- options -----------------------------------------------------------

  /** See {@link SocketOptions.routingId}; `null` when none is set. */
  get routingId(): string | null {
    return this.opts.routingId.length === 0 ? null : this.opts.routingId.toString();
  }
  /** Throws `EINVAL` for more than 255 bytes or a leading zero byte (ZMTP reserves those for ids a ROUTER generates); applies to connections made afterwards. */
  set routingId(value: string | Buffer | null) {
    const id = value === null ? Buffer.alloc(0) : Buffer.from(value);
    if (id.length > 255) throw new PrivateerError("EINVAL", "routingId is at most 255 bytes");
    if (id.length > 0 && id[0] === 0) throw new PrivateerError("EINVAL", "routingId must not start with a zero byte");
    this.opts.routingId = id;
  }
  /** See {@link SocketOptions.sendHighWaterMark}. */
  get sendHighWaterMark(): number {
    return this.opts.sendHighWaterMark;
  }
  /** Throws `EINVAL` for a negative value. As in libzmq, the new mark applies to existing connections too. */
  set sendHighWaterMark(value: number) {
    this.opts.sendHighWaterMark = nonNegative("sendHighWaterMark", value);
    // As libzmq (test_sockopt_hwm): a new mark applies to existing connections too.
    for (const pipe of this.pipes) pipe.sendHighWaterMark = value;
    this.processSends();
  }
  /** See {@link SocketOptions.receiveHighWaterMark}. */
  get receiveHighWaterMark(): number {
    return this.opts.receiveHighWaterMark;
  }
  /** Throws `EINVAL` for a negative value. The new mark applies to existing connections too. */
  set receiveHighWaterMark(value: number) {
    this.opts.receiveHighWaterMark = nonNegative("receiveHighWaterMark", value);
    for (const pipe of this.pipes) pipe.receiveHighWaterMark = value;
  }
  /** See {@link SocketOptions.linger}. */
  get linger(): number {
    return this.opts.linger;
  }
  /** Throws `EINVAL` below -1, so a typo fails here rather than at the next connection. */
  set linger(value: number) {
    this.opts.linger = atLeast("linger", value, -1);
  }
  /** See {@link SocketOptions.reconnectInterval}. */
  get reconnectInterval(): number {
    return this.opts.reconnectInterval;
  }
  /** Throws `EINVAL` below -1, so a typo fails here rather than at the next connection. */
  set reconnectInterval(value: number) {
    this.opts.reconnectInterval = atLeast("reconnectInterval", value, -1);
  }
  /** See {@link SocketOptions.reconnectMaxInterval}. */
  get reconnectMaxInterval(): number {
    return this.opts.reconnectMaxInterval;
  }
  /** Throws `EINVAL` for a negative value, so a typo fails here rather than at the next connection. */
  set reconnectMaxInterval(value: number) {
    this.opts.reconnectMaxInterval = nonNegative("reconnectMaxInterval", value);
  }
  /** See {@link SocketOptions.heartbeatInterval}. */
  get heartbeatInterval(): number {
    return this.opts.heartbeatInterval;
  }
  /** Throws `EINVAL` for a negative value, so a typo fails here rather than at the next connection. */
  set heartbeatInterval(value: number) {
    this.opts.heartbeatInterval = nonNegative("heartbeatInterval", value);
  }
  /** See {@link SocketOptions.heartbeatTimeout}. */
  get heartbeatTimeout(): number {
    return this.opts.heartbeatTimeout;
  }
  /** Throws `EINVAL` below -1, so a typo fails here rather than at the next connection. */
  set heartbeatTimeout(value: number) {
    this.opts.heartbeatTimeout = atLeast("heartbeatTimeout", value, -1);
  }
  /** See {@link SocketOptions.heartbeatTimeToLive}. */
  get heartbeatTimeToLive(): number {
    return this.opts.heartbeatTimeToLive;
  }
  /** Throws `EINVAL` for a negative value or above 6553599 ms, the most the 16-bit wire field in tenths of a second carries. */
  set heartbeatTimeToLive(value: number) {
    // The TTL travels as 16 bits of tenths of a second; libzmq refuses what cannot be carried.
    if (value > 6553599) throw new PrivateerError("EINVAL", "heartbeatTimeToLive is at most 6553599 ms");
    this.opts.heartbeatTimeToLive = nonNegative("heartbeatTimeToLive", value);
  }
  /** See {@link SocketOptions.handshakeInterval}. */
  get handshakeInterval(): number {
    return this.opts.handshakeInterval;
  }
  /** Throws `EINVAL` for a negative value, so a typo fails here rather than at the next connection. */
  set handshakeInterval(value: number) {
    this.opts.handshakeInterval = nonNegative("handshakeInterval", value);
  }
  /** See {@link SocketOptions.maxMessageSize}. */
  get maxMessageSize(): number {
    return this.opts.maxMessageSize;
  }
  /** Throws `EINVAL` below -1, so a typo fails here rather than at the next connection. */
  set maxMessageSize(value: number) {
    this.opts.maxMessageSize = atLeast("maxMessageSize", value, -1);
  }
  /** See {@link SocketOptions.immediate}. */
  get immediate(): boolean {
    return this.opts.immediate;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set immediate(value: boolean) {
    this.opts.immediate = Boolean(value);
  }
  /** See {@link SocketOptions.sendTimeout}. */
  get sendTimeout(): number {
    return this.opts.sendTimeout;
  }
  /** Throws `EINVAL` below -1, so a typo fails here rather than at the next connection. */
  set sendTimeout(value: number) {
    this.opts.sendTimeout = atLeast("sendTimeout", value, -1);
  }
  /** See {@link SocketOptions.receiveTimeout}. */
  get receiveTimeout(): number {
    return this.opts.receiveTimeout;
  }
  /** Throws `EINVAL` below -1, so a typo fails here rather than at the next connection. */
  set receiveTimeout(value: number) {
    this.opts.receiveTimeout = atLeast("receiveTimeout", value, -1);
  }
  /** See {@link SocketOptions.ipv6}. */
  get ipv6(): boolean {
    return this.opts.ipv6;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set ipv6(value: boolean) {
    this.opts.ipv6 = Boolean(value);
  }
  /** See {@link SocketOptions.backlog}. */
  get backlog(): number {
    return this.opts.backlog;
  }
  /** Throws `EINVAL` for a negative value, so a typo fails here rather than at the next connection. */
  set backlog(value: number) {
    this.opts.backlog = nonNegative("backlog", value);
  }

  /** See {@link SocketOptions.conflate}. */
  get conflate(): boolean {
    return this.opts.conflate;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set conflate(value: boolean) {
    this.opts.conflate = Boolean(value);
  }

  /** See {@link SocketOptions.transferLargeFrames}. */
  get transferLargeFrames(): boolean {
    return this.opts.transferLargeFrames;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set transferLargeFrames(value: boolean) {
    this.opts.transferLargeFrames = Boolean(value);
  }

  /**
   * Application properties (`X-` names) this socket announces in READY; see
   * {@link SocketOptions.metadata}. Reading returns a frozen copy of the
   * record last set.
   */
  get metadata(): Readonly<Record<string, string | Buffer>> {
    return this.opts.metadata;
  }
  /** Throws `EINVAL` for a name without the `X-` prefix or a record that does not fit a READY command; `null` clears it. */
  set metadata(value: Readonly<Record<string, string | Buffer>> | null) {
    // Validated and encoded once here, so a connection's READY costs no more than a copy.
    const properties = applicationProperties(value);
    this.opts.metadataProperties = properties;
    // The getter shows strings as given and bytes as the copy that is sent, so later changes to the caller's Buffer show nowhere.
    const given = Object.values(value ?? {});
    this.opts.metadata = Object.freeze(
      Object.fromEntries(properties.map(([name, bytes], i) => [name, typeof given[i] === "string" ? given[i] : bytes])),
    );
  }

  /** See {@link SocketOptions.plainServer}. */
  get plainServer(): boolean {
    return this.opts.mechanism === "PLAIN" && this.opts.plainServer;
  }
  /** `true` makes the socket a PLAIN server, `false` returns it to NULL (libzmq's rules). */
  set plainServer(value: boolean) {
    this.opts.plainServer = Boolean(value);
    this.opts.mechanism = this.opts.plainServer ? "PLAIN" : "NULL";
  }
  /** See {@link SocketOptions.plainUsername}. */
  get plainUsername(): string | null {
    return this.opts.plainUsername?.toString() ?? null;
  }
  /** Makes the socket a PLAIN client; `null` returns it to NULL. Throws `EINVAL` above 255 bytes. */
  set plainUsername(value: string | null) {
    this.opts.plainUsername = plainCredential("plainUsername", value);
    this.becomePlainClient(this.opts.plainUsername !== null);
  }
  /** See {@link SocketOptions.plainPassword}. */
  get plainPassword(): string | null {
    return this.opts.plainPassword?.toString() ?? null;
  }
  /** Makes the socket a PLAIN client; `null` returns it to NULL. Throws `EINVAL` above 255 bytes. */
  set plainPassword(value: string | null) {
    this.opts.plainPassword = plainCredential("plainPassword", value);
    this.becomePlainClient(this.opts.plainPassword !== null);
  }
  /** See {@link SocketOptions.zapDomain}. */
  get zapDomain(): string {
    return this.opts.zapDomain;
  }
  /** Throws `EINVAL` above 255 bytes, libzmq's limit. */
  set zapDomain(value: string) {
    const domain = String(value ?? "");
    if (Buffer.byteLength(domain) > 255) throw new PrivateerError("EINVAL", "zapDomain is at most 255 bytes");
    this.opts.zapDomain = domain;
  }

  /**
   * The security mechanism the options select, as zeromq.js reports it
   * (ZMQ_MECHANISM): `null` for NULL, `"plain"` or `"curve"`. Read-only: the
   * PLAIN and CURVE options choose it.
   */
  get securityMechanism(): null | "plain" | "curve" {
    const mechanism = this.opts.mechanism;
    return mechanism === "NULL" ? null : mechanism === "PLAIN" ? "plain" : "curve";
  }

  /** See {@link SocketOptions.curveServer}. */
  get curveServer(): boolean {
    return this.opts.mechanism === "CURVE" && this.opts.curveServer;
  }
  /** `true` makes the socket a CURVE server, `false` returns it to NULL (libzmq's rules). */
  set curveServer(value: boolean) {
    this.opts.curveServer = Boolean(value);
    this.opts.mechanism = this.opts.curveServer ? "CURVE" : "NULL";
  }
  /** See {@link SocketOptions.curvePublicKey}. Z85 text, or null when unset. */
  get curvePublicKey(): string | null {
    return keyText(this.opts.curvePublicKey);
  }
  /** Throws `EINVAL` for anything but 40 characters of Z85 or 32 bytes; `null` clears it. */
  set curvePublicKey(value: string | Buffer | Uint8Array | null) {
    this.opts.curvePublicKey = curveKeyOption("curvePublicKey", value);
    this.curveKeyChanged(this.opts.curvePublicKey !== null);
  }
  /** See {@link SocketOptions.curveSecretKey}. Z85 text, or null when unset. */
  get curveSecretKey(): string | null {
    return keyText(this.opts.curveSecretKey);
  }
  /** Throws `EINVAL` (without quoting the value) for anything but 40 characters of Z85 or 32 bytes; `null` clears it. */
  set curveSecretKey(value: string | Buffer | Uint8Array | null) {
    const key = curveKeyOption("curveSecretKey", value);
    this.opts.curveSecretKey = key === null ? null : new SecretKey(key);
    this.curveKeyChanged(key !== null);
  }
  /** See {@link SocketOptions.curveServerKey}. Z85 text, or null when unset. */
  get curveServerKey(): string | null {
    return keyText(this.opts.curveServerKey);
  }
  /** Makes the socket a CURVE client. Throws `EINVAL` for anything but 40 characters of Z85 or 32 bytes; `null` clears it. */
  set curveServerKey(value: string | Buffer | Uint8Array | null) {
    this.opts.curveServerKey = curveKeyOption("curveServerKey", value);
    if (this.opts.curveServerKey !== null) this.opts.curveServer = false;
    this.curveKeyChanged(this.opts.curveServerKey !== null);
  }

  /**
   * libzmq: setting any CURVE key selects CURVE and keeps the role. Clearing
   * one (a Privateer extension; libzmq cannot unset a key) returns to NULL
   * once no CURVE setting is left.
   */
  private curveKeyChanged(set: boolean): void {
    const o = this.opts;
    if (set) o.mechanism = "CURVE";
    else if (o.mechanism === "CURVE" && !o.curveServer && !o.curvePublicKey && !o.curveSecretKey && !o.curveServerKey) o.mechanism = "NULL";
  }

  private becomePlainClient(set: boolean): void {
    this.opts.plainServer = false;
    this.opts.mechanism = set ? "PLAIN" : "NULL";
  }

  // ---- sending and receiving (exposed by the capability subclasses) -----

  protected sendMessage(value: MessageLike | readonly MessageLike[]): Promise<void> {
    if (this.isClosed) return Promise.reject(new PrivateerError("EBADF", "Socket is closed"));
    let message: Message;
    try {
      message = toMessage(value);
    } catch (error) {
      return Promise.reject(new PrivateerError("EINVAL", (error as Error).message, { cause: error }));
    }
    if (this.sendWaiters.length === 0) {
      const outcome = this.xsend(message);
      if (outcome === true) return RESOLVED;
      if (outcome !== false) return Promise.reject(outcome);
    }
    if (this.opts.sendTimeout === 0) {
      return Promise.reject(new PrivateerError("EAGAIN", "send would block and sendTimeout is 0"));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: SendWaiter = { message, resolve, reject, settled: false };
      if (this.opts.sendTimeout > 0) {
        waiter.timer = this.scheduler.schedule(
          () => this.settleSend(waiter, new PrivateerError("EAGAIN", `send timed out after ${this.opts.sendTimeout} ms`)),
          this.opts.sendTimeout,
        );
      }
      this.sendWaiters.push(waiter);
      // Earlier waiters may all have timed out: serve this one now if there is room.
      this.processSends();
    });
  }

  protected receiveMessage(): Promise<Message> {
    if (this.isClosed) return Promise.reject(new PrivateerError("EBADF", "Socket is closed"));
    if (this.receivers.length === 0) {
      const message = this.xrecv();
      if (message !== undefined) return Promise.resolve(message);
    }
    if (this.opts.receiveTimeout === 0) {
      return Promise.reject(new PrivateerError("EAGAIN", "no message and receiveTimeout is 0"));
    }
    return new Promise<Message>((resolve, reject) => {
      const receiver: Receiver = { stream: false, deliver: resolve, fail: reject, settled: false };
      if (this.opts.receiveTimeout > 0) {
        receiver.timer = this.scheduler.schedule(
          () =>
            this.settleReceive(
              receiver,
              undefined,
              new PrivateerError("EAGAIN", `receive timed out after ${this.opts.receiveTimeout} ms`),
            ),
          this.opts.receiveTimeout,
        );
      }
      this.receivers.push(receiver);
      // Earlier receivers may all have been cancelled: serve this one now if a message waits.
      this.processReceives();
    });
  }

  protected messageIterator(): AsyncIterator<Message, undefined> {
    return {
      next: () => {
        // Fast path: a message is already waiting and nobody is ahead of us.
        if (!this.isClosed && this.receivers.length === 0) {
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
      const receiver: Receiver = {
        stream: true,
        deliver: (message) => subscriber.next(message),
        fail: (error) => (this.isClosed ? subscriber.complete() : subscriber.error(error)),
        settled: false,
      };
      this.receivers.push(receiver);
      this.processReceives();
      return () => {
        receiver.settled = true;
      };
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
    if (this.receiving) return;
    this.receiving = true;
    try {
      while (this.receivers.length > 0) {
        const receiver = this.receivers.peek()!;
        if (receiver.settled) {
          this.receivers.shift();
          continue;
        }
        const message = this.xrecv();
        if (message === undefined) break;
        this.receivers.shift();
        if (receiver.stream) {
          this.receivers.push(receiver);
          receiver.deliver(message);
        } else {
          this.settleReceive(receiver, message);
        }
      }
    } finally {
      this.receiving = false;
    }
  }

  /** Wakes waiting receivers on the next turn of the event loop (once, however often asked). */
  private wakeReceiversSoon(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (!this.isClosed) this.processReceives();
    });
  }

  /** Socket types call this when sends may now succeed outside pipe events. */
  protected processSends(): void {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.sendWaiters.length > 0) {
        const waiter = this.sendWaiters.peek()!;
        if (waiter.settled) {
          this.sendWaiters.shift();
          continue;
        }
        const outcome = this.xsend(waiter.message);
        if (outcome === false) break;
        this.sendWaiters.shift();
        this.settleSend(waiter, outcome === true ? undefined : outcome);
      }
    } finally {
      this.sending = false;
    }
  }

  // ---- the faces shown to pipes and transports ----------------------------

  /**
   * What pipes call back into. A separate object, not the socket itself, so
   * that these hooks are not part of the socket's public API.
   */
  private readonly pipeOwner: PipeOwner = {
    pipeReadable: (pipe, deferWake) => {
      this.xreadable(pipe);
      if (deferWake) this.wakeReceiversSoon();
      else this.processReceives();
    },
    pipeWritable: (pipe) => {
      this.xwritable(pipe);
      this.processSends();
    },
    pipeConnected: (pipe) => {
      if (!this.attached.has(pipe)) this.attachPipe(pipe);
      this.xconnected(pipe);
      this.processSends();
    },
    pipeDisconnected: (pipe) => this.xdisconnected(pipe),
    pipeClosed: (pipe) => {
      this.pipes.delete(pipe);
      if (this.attached.delete(pipe)) this.xdetach(pipe);
      // A REQ or REP waiting on this pipe may now be free to act.
      this.processSends();
    },
  };

  /** What transports see of the socket: its identity, current options, pipes and events. */
  private readonly host: TransportHost = createHost(this, {
    engineOptions: (asServer) => this.engineOptions(asServer),
    createPipe: (endpoint, spec) => this.createPipe(endpoint, spec),
    admit: (pipe, peer) => this.xadmit(pipe, peer),
    emit: (event) => this.emit(event),
    options: () => this.opts,
  });

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
    this.processSends();
  }

  private settleSend(waiter: SendWaiter, error?: Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    waiter.timer?.unsubscribe();
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  private settleReceive(receiver: Receiver, message: Message | undefined, error?: Error): void {
    if (receiver.settled) return;
    if (!receiver.stream) receiver.settled = true;
    receiver.timer?.unsubscribe();
    if (error) {
      receiver.settled = true;
      receiver.fail(error);
    } else receiver.deliver(message!);
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

function hasSetter(object: object, key: string): boolean {
  for (let proto = Object.getPrototypeOf(object); proto; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor) return descriptor.set !== undefined;
  }
  return false;
}

function nonNegative(name: string, value: number): number {
  return atLeast(name, value, 0);
}

function atLeast(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new PrivateerError("EINVAL", `${name} must be an integer >= ${min}`);
  return value;
}

/** A PLAIN credential option: `null` clears it; the value itself never goes into the error. */
function plainCredential(name: string, value: string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  const bytes = Buffer.from(String(value), "utf8");
  if (bytes.length > PLAIN_CREDENTIAL_MAX) throw new PrivateerError("EINVAL", `${name} is at most ${PLAIN_CREDENTIAL_MAX} bytes`);
  return bytes;
}

/** The mechanism each new connection uses, from the options current at its start. */
function securityConfig(o: ResolvedOptions): SecurityConfig {
  if (o.mechanism === "NULL") return { mechanism: "NULL" };
  if (o.mechanism === "CURVE") {
    return o.curveServer
      ? { mechanism: "CURVE", server: true, zapDomain: o.zapDomain, secretKey: o.curveSecretKey, publicKey: o.curvePublicKey }
      : {
          mechanism: "CURVE",
          server: false,
          serverKey: o.curveServerKey,
          publicKey: o.curvePublicKey,
          secretKey: o.curveSecretKey,
        };
  }
  if (o.plainServer) return { mechanism: "PLAIN", server: true, zapDomain: o.zapDomain };
  return {
    mechanism: "PLAIN",
    server: false,
    username: o.plainUsername ?? Buffer.alloc(0),
    password: o.plainPassword ?? Buffer.alloc(0),
  };
}
