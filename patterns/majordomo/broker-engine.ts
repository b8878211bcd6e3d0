import { asyncScheduler, interval, Subject, type Observable, type SchedulerLike, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { componentLogger } from "../../src";
import type { BrokerEvent, BrokerResetReason, RequestIds, WorkerDropReason } from "./events";
import type { MajordomoError } from "./errors";
import { answerMmi, isMmiService } from "./mmi";
import { nonNegative, positive } from "../shared/validate";
import {
  decodeInboundAt,
  encodeClientCommandAfter,
  encodeWorkerCommandAfter,
  headerVersion,
  type ClientCommand,
  type Decoded,
  type MdpVersion,
  type WorkerCommand,
} from "./protocol";
import { hexKey, RequestRecord, type Service, type WorkerRecord } from "./service";
import { ServiceRegistry, type ServiceStatus } from "./service-registry";
import { errorReplyBody, STATUS } from "./status";
import { takeRequestId, withRequestId } from "./request-ids";

/** Timing and limits of a broker. */
export interface BrokerEngineOptions {
  /** ms between HEARTBEATs to each worker, and the unit of worker liveness. Default 2500. */
  heartbeatInterval?: number;
  /** Heartbeat intervals of silence after which a worker is removed. Default 3. */
  heartbeatLiveness?: number;
  /**
   * ms a request may wait in a service queue for a worker before it expires; 0 = never. Default 0, as in the
   * zguide's broker. Lossy for MDP 0.1 clients: an expired request gets no reply at all (0.2 clients get a 404/504
   * error reply), so set it only when 0.1 clients retry on their own timeout.
   */
  requestTimeout?: number;
  /**
   * Requests queued per service before new ones are rejected; 0 = unbounded. Default 0: a client that sends
   * thousands of requests before reading replies (an asynchronous client) must not lose any, and a queued
   * request costs about 0.2 KB of heap (see docs/patterns/majordomo.md for measured bounds). Lossy for MDP 0.1
   * clients: a rejected request gets no reply at all (0.2 clients get a 503 error reply).
   */
  maxQueuedRequests?: number;
  /**
   * Completed requests (of clients that send request ids) whose final reply is kept, so that a retry of one is
   * answered without running it again; the least recently used is evicted first. 0 = no cache. Default 10,000.
   */
  replyCacheSize?: number;
  /** ms a cached reply is kept; 0 = until evicted by size. Default 60,000. */
  replyCacheTtl?: number;
  /** Scheduler for heartbeats and expiry; tests pass a TestScheduler. */
  scheduler?: SchedulerLike;
  logger?: Logger;
}

/** What the broker knows about a peer once its handshake completed. */
export interface PeerInfo {
  /** The peer announced the request-id extension in its READY metadata. */
  readonly ids?: boolean;
}

/**
 * The Majordomo broker's state machine, without a socket: feed it what a
 * ROUTER receives with {@link BrokerEngine.handle}, and it calls `send` with
 * what the ROUTER must send (routing id first). {@link MajordomoBroker} wires
 * it to a ROUTER; embedding it directly lets a process act as a broker on a
 * socket it already owns.
 */
export class BrokerEngine {
  /** Everything the broker does, as a typed stream; completes on stop(). */
  readonly events$: Observable<BrokerEvent>;

  private readonly heartbeatInterval: number;
  private readonly liveness: number;
  private readonly requestTimeout: number;
  /** Per service: the pending expiry timer and the deadline it is armed for. */
  private readonly expiryTimers = new Map<string, { at: number; timer: Subscription }>();
  private readonly maxQueued: number;
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly registry = new ServiceRegistry();
  private readonly events = new Subject<BrokerEvent>();
  /** Open connections per routing id; more than one only while a handed-over connection winds down. */
  private readonly connections = new Map<string, number>();
  /** Routing ids (hex) of peers that announced the request-id extension. */
  private readonly idPeers = new Set<string>();
  /** Requests with a client id, queued or held by a worker, by {@link idKey}: a retry joins the one it finds. */
  private readonly pending = new Map<string, RequestRecord>();
  /** Final replies of completed requests by {@link idKey}, least recently used first (Map order). */
  private readonly replies = new Map<string, { body: Buffer[]; at: number }>();
  private readonly replyCacheSize: number;
  private readonly replyCacheTtl: number;
  /** Scheduler time at construction: request deadlines count from it, so they stay small integers. */
  private readonly epoch: number;
  private ticker?: Subscription;
  private nextRequestId = 0;
  private stopped = false;

  /**
   * @param send what the ROUTER must send, routing id first.
   * @param serving for a broker of a pair: asked before each heartbeat tick
   *   and request expiry; while it answers false they do nothing, so a broker
   *   thawed after a freeze neither expires workers, requeues, dispatches nor
   *   answers before its owner has reset it (asking may be what triggers that).
   */
  constructor(
    private readonly send: (frames: Buffer[]) => void,
    options: BrokerEngineOptions = {},
    private readonly serving: () => boolean = () => true,
  ) {
    this.heartbeatInterval = positive("heartbeatInterval", options.heartbeatInterval ?? 2500);
    this.liveness = positive("heartbeatLiveness", options.heartbeatLiveness ?? 3);
    this.requestTimeout = nonNegative("requestTimeout", options.requestTimeout ?? 0);
    this.maxQueued = nonNegative("maxQueuedRequests", options.maxQueuedRequests ?? 0);
    this.replyCacheSize = nonNegative("replyCacheSize", options.replyCacheSize ?? 10_000);
    this.replyCacheTtl = nonNegative("replyCacheTtl", options.replyCacheTtl ?? 60_000);
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.epoch = this.scheduler.now();
    this.logger = componentLogger("mdp-broker", {}, options.logger);
    this.events$ = this.events.asObservable();
  }

  /** Starts heartbeating; call once. */
  start(): void {
    if (this.ticker || this.stopped) return;
    this.ticker = interval(this.heartbeatInterval, this.scheduler).subscribe(() => this.tick());
  }

  /** Sends DISCONNECT to every worker, drops every queued request, and stops timers. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker?.unsubscribe();
    for (const { timer } of this.expiryTimers.values()) timer.unsubscribe();
    this.expiryTimers.clear();
    for (const worker of this.registry.allWorkers()) {
      this.registry.removeWorker(worker);
      this.sendWorker(worker, { type: "disconnect" });
      this.emit({ type: "worker-disconnected", worker: worker.key, service: worker.service, reason: "broker-closing" });
    }
    this.registry.clear();
    this.connections.clear();
    this.idPeers.clear();
    this.pending.clear();
    this.replies.clear();
    this.events.complete();
  }

  /**
   * Forgets every worker and queued request but keeps running: for a broker
   * that stops serving while its process lives on (one broker of a pair
   * leaving active, or fenced after a stall). Each worker gets DISCONNECT so
   * it moves to the other broker; each request queued or held by a worker
   * is dropped unanswered (`request-dropped`), since its client retries on
   * the other broker. A reply a worker sends afterwards is refused, so
   * nothing reaches a client. Unlike {@link stop}, events$ stays open and the
   * engine serves again from empty once fed messages.
   */
  reset(reason: BrokerResetReason): void {
    if (this.stopped) return;
    for (const { timer } of this.expiryTimers.values()) timer.unsubscribe();
    this.expiryTimers.clear();
    const dropped: RequestRecord[] = [];
    for (const worker of this.registry.allWorkers()) {
      const held = this.registry.removeWorker(worker);
      if (held) dropped.push(held);
      this.sendWorker(worker, { type: "disconnect" });
      this.emit({ type: "worker-disconnected", worker: worker.key, service: worker.service, reason });
    }
    for (const request of this.registry.takeAllQueued()) dropped.push(request);
    this.registry.clear();
    // The cache stays: a reply in it is a worker's real answer, still right if this broker serves again.
    this.pending.clear();
    for (const request of dropped.sort((a, b) => a.id - b.id)) {
      this.emit({ type: "request-dropped", ...ids(request), reason });
    }
  }

  /**
   * Answers a message that a broker which is not serving received, instead
   * of {@link handle}: a worker's command gets DISCONNECT (so the worker
   * moves to the other broker of the pair at once) unless it is DISCONNECT
   * itself; a client's request, or anything that is not MDP, is dropped
   * without a word, so the client times out and fails over.
   */
  turnAway(message: readonly Buffer[], reason: BrokerResetReason): void {
    if (this.stopped || message.length === 0) return;
    const id = message[0]!;
    let inbound;
    try {
      inbound = decodeInboundAt(message, 1);
    } catch {
      return;
    }
    if (inbound.peer !== "worker" || inbound.command.type === "disconnect") return;
    const service = inbound.command.type === "ready" ? inbound.command.service : undefined;
    this.refuse(id, hexKey(id), inbound, reason, service);
  }

  /** Every known service with worker and queue counts. */
  services(): ServiceStatus[] {
    return this.registry.status();
  }

  /** Processes one message as a ROUTER received it: `[routingId, ...frames]`. */
  handle(message: readonly Buffer[]): void {
    if (this.stopped || message.length === 0) return;
    const id = message[0]!;
    const key = hexKey(id);
    let inbound;
    try {
      inbound = decodeInboundAt(message, 1);
    } catch (error) {
      this.onInvalid(id, key, message.slice(1), error as MajordomoError);
      return;
    }
    if (inbound.peer === "client") this.onClient(id, key, inbound);
    else this.onWorker(id, key, inbound);
  }

  /**
   * Tells the engine that the ROUTER completed a handshake with the peer
   * `routingId`; `peer.ids` when its READY metadata announced the request-id
   * extension (only then does the engine read or add id frames for it).
   */
  peerConnected(routingId: Buffer, peer: PeerInfo = {}): void {
    const key = hexKey(routingId);
    this.connections.set(key, (this.connections.get(key) ?? 0) + 1);
    if (peer.ids) this.idPeers.add(key);
    else this.idPeers.delete(key);
  }

  /**
   * Tells the engine that the ROUTER lost its connection to `routingId`. A
   * worker behind it is removed at once and its request requeued, instead of
   * waiting `heartbeatLiveness` intervals for it to expire. A client behind
   * it has its queued requests dropped: the ROUTER could not deliver their
   * replies, and a retrying client has already sent them again on a fresh socket.
   */
  peerDisconnected(routingId: Buffer): void {
    if (this.stopped) return;
    const key = hexKey(routingId);
    // Peers the engine never heard connect (it may be fed by a socket that reports only drops) count as one connection.
    const remaining = (this.connections.get(key) ?? 1) - 1;
    if (remaining > 0) {
      this.connections.set(key, remaining);
      return;
    }
    this.connections.delete(key);
    this.idPeers.delete(key);
    const worker = this.registry.worker(key);
    // Nobody is left to read a DISCONNECT.
    if (worker) this.drop(worker, "connection-lost", false);
    for (const request of this.registry.takeQueuedFrom(key)) {
      this.forget(request);
      this.emit({ type: "request-abandoned", ...ids(request) });
    }
    // A worker already on it may finish (its reply goes nowhere), but must not be replaced if it fails.
    for (const other of this.registry.allWorkers()) {
      if (other.request?.clientKey === key) other.request.clientGone = true;
    }
  }

  // ---- clients -------------------------------------------------------------

  private onClient(id: Buffer, key: string, decoded: Decoded<ClientCommand>): void {
    const { command } = decoded;
    // Only a client that announced the extension has id frames to take off; a plain client's body is all body.
    let requestId: string | undefined;
    let body = command.body;
    if (this.idPeers.has(key)) ({ id: requestId, body } = takeRequestId(body));
    if (isMmiService(command.service)) {
      const request = newRequest(++this.nextRequestId, id, decoded, command.service, body, requestId);
      this.reply(request, "final", answerMmi(command.service, body, this.registry));
      return;
    }
    const service = this.registry.service(command.service);
    // The service record's name, not the decoded one: a queued request then holds no string of its own.
    const request = newRequest(++this.nextRequestId, id, decoded, service.name, body, requestId);
    if (requestId !== undefined && this.joinOrReplay(request, requestId)) {
      this.registry.prune(service);
      return;
    }
    if (this.maxQueued > 0 && service.queued >= this.maxQueued) {
      if (this.watched()) this.emit({ type: "request-rejected", ...ids(request) });
      this.fail(request, STATUS.queueFull, `queue for "${request.service}" is full`);
      return;
    }
    if (requestId !== undefined) this.pending.set(idKey(request.service, requestId), request);
    this.enqueue(service, request);
    this.dispatch(service);
  }

  /**
   * A request id seen before is not queued again: if its original is still
   * queued or held by a worker, the retry takes over the reply (it may come
   * from a fresh socket, the old one being gone); if it completed recently,
   * the cached reply answers it. True when the retry was handled so.
   */
  private joinOrReplay(retry: RequestRecord, requestId: string): boolean {
    const key = idKey(retry.service, requestId);
    const original = this.pending.get(key);
    if (original) {
      original.client = retry.client;
      original.version = retry.version;
      original.delimited = retry.delimited;
      original.clientGone = false;
      this.emit({ type: "request-joined", ...ids(original) });
      return true;
    }
    const cached = this.cachedReply(key);
    if (!cached) return false;
    this.emit({ type: "reply-replayed", ...ids(retry) });
    this.reply(retry, "final", cached);
    return true;
  }

  private cachedReply(key: string): Buffer[] | undefined {
    const entry = this.replies.get(key);
    if (!entry) return undefined;
    this.replies.delete(key);
    if (this.replyCacheTtl > 0 && this.scheduler.now() - entry.at >= this.replyCacheTtl) return undefined;
    // Map order is insertion order: re-inserting makes it the most recently used.
    this.replies.set(key, entry);
    return entry.body;
  }

  private cacheReply(request: RequestRecord, body: Buffer[]): void {
    if (request.requestId === undefined || this.replyCacheSize === 0) return;
    const key = idKey(request.service, request.requestId);
    const now = this.scheduler.now();
    this.replies.delete(key);
    this.replies.set(key, { body, at: now });
    // Oldest first: drop what exceeds the size, then what has outlived the TTL.
    for (const [oldest, entry] of this.replies) {
      const stale = this.replyCacheTtl > 0 && now - entry.at >= this.replyCacheTtl;
      if (this.replies.size <= this.replyCacheSize && !stale) break;
      this.replies.delete(oldest);
    }
  }

  /** The request is no longer queued nor held: a later retry of its id is a new request (or a cache hit). */
  private forget(request: RequestRecord): void {
    if (request.requestId === undefined) return;
    const key = idKey(request.service, request.requestId);
    if (this.pending.get(key) === request) this.pending.delete(key);
  }

  /** Queues a new request behind the others, with its deadline if requests expire. */
  private enqueue(service: Service, request: RequestRecord): void {
    const expiresAt = this.deadline();
    service.enqueue(request, expiresAt);
    if (expiresAt !== undefined) this.armExpiry(service.name, expiresAt);
    if (this.watched()) {
      this.emit({ type: "request-queued", ...ids(request), queued: service.queued });
    }
  }

  /**
   * Puts back the request of a worker that failed, at the head of its queue, with a fresh deadline. Not a flag of
   * {@link enqueue}: that one is inlined into every request's path, and this branch would only weigh it down.
   */
  private requeue(service: Service, request: RequestRecord): void {
    const expiresAt = this.deadline();
    service.requeueFront(request, expiresAt);
    if (expiresAt !== undefined) this.armExpiry(service.name, expiresAt);
  }

  /** The deadline of a request queued now; undefined when requests do not expire. */
  private deadline(): number | undefined {
    return this.requestTimeout > 0 ? this.clock() + this.requestTimeout : undefined;
  }

  /**
   * One timer per service, armed for its earliest deadline, rather than one
   * per queued request: a long queue then costs no timers, and a burst that
   * times out together is expired in one pass instead of one search and
   * splice of the queue per request.
   */
  private armExpiry(name: string, at: number): void {
    const armed = this.expiryTimers.get(name);
    if (armed && armed.at <= at) return;
    armed?.timer.unsubscribe();
    const timer = this.scheduler.schedule(() => this.expireDue(name), Math.max(0, at - this.clock()));
    this.expiryTimers.set(name, { at, timer });
  }

  /** Expires every queued request of `name` whose deadline has passed, in queue order. */
  private expireDue(name: string): void {
    this.expiryTimers.delete(name);
    if (this.stopped || !this.serving()) return;
    const service = this.registry.service(name);
    const { expired, next } = service.expire(this.clock());
    if (next !== undefined) this.armExpiry(name, next);
    const known = service.workerCount > 0;
    for (const request of expired) {
      this.forget(request);
      this.emit({ type: "request-expired", ...ids(request) });
      this.fail(
        request,
        known ? STATUS.expired : STATUS.notFound,
        known
          ? `no worker for "${request.service}" became free within ${this.requestTimeout} ms`
          : `no worker registered for "${request.service}" within ${this.requestTimeout} ms`,
      );
    }
    this.registry.prune(service);
  }


  /** 0.2 clients get an error reply; 0.1 clients get nothing (their protocol has no way to tell an error from a reply). */
  private fail(request: RequestRecord, status: string, reason: string): void {
    if (request.version === "0.1") return;
    this.reply(request, "final", errorReplyBody(status, reason), false);
  }

  private reply(request: RequestRecord, type: "partial" | "final", body: Buffer[], report = true): void {
    // 0.1 clients cannot receive partial replies: they see only the final one.
    if (type === "partial" && request.version === "0.1") return;
    const carried =
      request.requestId !== undefined && this.idPeers.has(request.clientKey) ? withRequestId(request.requestId, body) : body;
    this.send(
      encodeClientCommandAfter(request.client, request.version, { type, service: request.service, body: carried }, request.delimited),
    );
    if (report && this.watched()) {
      this.emit({ type: "reply-sent", ...ids(request), final: type === "final" });
    }
  }

  // ---- workers -------------------------------------------------------------

  private onWorker(id: Buffer, key: string, decoded: Decoded<WorkerCommand>): void {
    const { command, version } = decoded;
    const worker = this.registry.worker(key);
    if (worker) {
      worker.lastSeen = this.scheduler.now();
      worker.expiresAt = worker.lastSeen + this.heartbeatInterval * this.liveness;
      if (version !== worker.version) {
        this.drop(worker, "unexpected-command");
        return;
      }
    }
    switch (command.type) {
      case "ready":
        if (worker) this.drop(worker, "unexpected-command");
        else if (isMmiService(command.service)) this.refuse(id, key, decoded, "reserved-service", command.service);
        else this.register(id, key, decoded, command.service);
        return;
      case "partial":
      case "final":
        if (!worker) this.refuse(id, key, decoded, "unexpected-command");
        else this.onReply(worker, command.type, command.client, command.body);
        return;
      case "heartbeat":
        if (!worker) this.refuse(id, key, decoded, "unexpected-command");
        return;
      case "disconnect":
        if (worker) this.drop(worker, "worker-disconnect", false);
        return;
      case "request":
        if (worker) this.drop(worker, "unexpected-command");
        else this.refuse(id, key, decoded, "unexpected-command");
        return;
    }
  }

  private register(id: Buffer, key: string, decoded: Decoded<WorkerCommand>, service: string): void {
    const now = this.scheduler.now();
    const worker: WorkerRecord = {
      id,
      key,
      version: decoded.version,
      delimited: decoded.delimited,
      service,
      lastSeen: now,
      expiresAt: now + this.heartbeatInterval * this.liveness,
    };
    const record = this.registry.addWorker(worker);
    this.emit({ type: "worker-ready", worker: key, service, version: decoded.version });
    this.dispatch(record);
  }

  private onReply(worker: WorkerRecord, type: "partial" | "final", client: Buffer, body: Buffer[]): void {
    const request = worker.request;
    // A worker that speaks the extension echoes the id; one at a time, so the id only confirms what it holds.
    const echoed = this.idPeers.has(worker.key) ? takeRequestId(body) : { id: undefined, body };
    const addressed = worker.requestClient ?? request?.client;
    if (
      !request ||
      !(addressed === client || addressed!.equals(client)) ||
      (echoed.id !== undefined && echoed.id !== request.requestId)
    ) {
      this.drop(worker, "unexpected-reply");
      return;
    }
    this.reply(request, type, echoed.body);
    if (type === "partial") return;
    const service = this.registry.service(worker.service);
    service.release(worker);
    this.forget(request);
    this.cacheReply(request, echoed.body);
    this.dispatch(service);
  }

  /** Hands queued requests to idle workers, least recently used first. */
  private dispatch(service: Service): void {
    // One call site of pair(), not a for loop's two: V8 inlines each site, and the second copy measurably slowed this path.
    let worker: WorkerRecord | undefined;
    while ((worker = service.pair()) !== undefined) {
      const request = worker.request!;
      const body =
        request.requestId !== undefined && this.idPeers.has(worker.key) ? withRequestId(request.requestId, request.body) : request.body;
      this.sendWorker(worker, { type: "request", client: request.client, body });
      if (this.watched()) {
        this.emit({ type: "request-dispatched", ...ids(request), worker: worker.key, attempt: request.attempts });
      }
    }
    this.registry.prune(service);
  }

  /**
   * Removes a worker; the request it held goes back to the head of its queue, so it is never lost nor held
   * twice (unless its client is gone too, and then it is dropped).
   */
  private drop(worker: WorkerRecord, reason: WorkerDropReason | "expired", notify = true): void {
    const held = this.registry.removeWorker(worker);
    if (notify) this.sendWorker(worker, { type: "disconnect" });
    if (reason === "expired") this.emit({ type: "worker-expired", worker: worker.key, service: worker.service });
    else this.emit({ type: "worker-disconnected", worker: worker.key, service: worker.service, reason });
    if (held?.clientGone) {
      this.forget(held);
      this.emit({ type: "request-abandoned", ...ids(held) });
    } else if (held) {
      this.requeue(this.registry.service(held.service), held);
      this.emit({ type: "request-requeued", ...ids(held), worker: worker.key });
    }
    this.dispatch(this.registry.service(worker.service));
  }

  /** DISCONNECT to a peer that is not (or no longer) a registered worker. */
  private refuse(
    id: Buffer,
    key: string,
    decoded: { version: MdpVersion; delimited: boolean },
    reason: WorkerDropReason,
    service?: string,
  ): void {
    this.send(encodeWorkerCommandAfter(id, decoded.version, { type: "disconnect" }, decoded.delimited));
    this.emit({ type: "worker-disconnected", worker: key, reason, ...(service === undefined ? {} : { service }) });
  }

  private onInvalid(id: Buffer, key: string, frames: Buffer[], error: MajordomoError): void {
    this.emit({ type: "protocol-error", peer: key, message: error.message });
    this.logger.debug({ peer: key, err: error }, "invalid MDP message");
    const worker = this.registry.worker(key);
    if (worker) {
      this.drop(worker, "invalid-message");
      return;
    }
    // A worker-header message we cannot parse still tells us which DISCONNECT the peer understands.
    const delimited = frames[0]?.length === 0;
    const version = headerVersion(delimited ? frames[1] : frames[0], "worker");
    if (version) this.refuse(id, key, { version, delimited }, "invalid-message");
  }

  private sendWorker(worker: WorkerRecord, command: WorkerCommand): void {
    this.send(encodeWorkerCommandAfter(worker.id, worker.version, command, worker.delimited));
  }

  // ---- heartbeating --------------------------------------------------------

  private tick(): void {
    if (!this.serving()) return;
    const now = this.scheduler.now();
    for (const worker of this.registry.allWorkers()) {
      if (now >= worker.expiresAt) {
        this.drop(worker, "expired");
        continue;
      }
      const missed = Math.floor((now - worker.lastSeen) / this.heartbeatInterval);
      if (missed >= 1) this.emit({ type: "heartbeat-missed", worker: worker.key, service: worker.service, missed });
    }
    for (const worker of this.registry.allWorkers()) this.sendWorker(worker, { type: "heartbeat" });
  }

  /** Scheduler time since the engine was made: the clock of request deadlines. */
  private clock(): number {
    return this.scheduler.now() - this.epoch;
  }

  /**
   * Whether anyone sees events: the per-request ones are built only then,
   * since building them costs more than routing the request does.
   */
  private watched(): boolean {
    return this.events.observed || this.logger.isLevelEnabled("debug");
  }

  private emit(event: BrokerEvent): void {
    this.logger.debug(event, event.type);
    this.events.next(event);
  }
}

/** A new request record; a one-frame body is kept as the frame alone (a queued request then holds no array). */
function newRequest(
  id: number,
  client: Buffer,
  decoded: { version: MdpVersion; delimited: boolean },
  service: string,
  body: Buffer[],
  requestId: string | undefined,
): RequestRecord {
  return new RequestRecord(id, client, decoded.version, decoded.delimited, service, body.length === 1 ? body[0]! : body, requestId);
}

/** The fields every request event carries; `trace` is one greppable key for the request's whole life in the logs. */
function ids(request: RequestRecord): RequestIds {
  return {
    request: request.id,
    client: request.clientKey,
    trace: `${request.clientKey}:${request.id}`,
    service: request.service,
    ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
  };
}

/** Ids are the clients' own, so they are scoped by service: two services may see the same id. */
function idKey(service: string, requestId: string): string {
  return `${service}\n${requestId}`;
}
