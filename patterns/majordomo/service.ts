import { Queue } from "../../src/util/queue";
import type { MdpVersion } from "./protocol";

/** A registered worker as the broker sees it. */
export interface WorkerRecord {
  readonly id: Buffer;
  /** Hex routing id: the map key and the id used in events. */
  readonly key: string;
  readonly version: MdpVersion;
  readonly delimited: boolean;
  readonly service: string;
  lastSeen: number;
  expiresAt: number;
  /** The request the worker is processing; MDP workers take one at a time. */
  request?: RequestRecord;
  /**
   * The client address the worker was given with `request`: its reply names
   * that one, even after a retry moved the request's `client` to a fresh socket.
   */
  requestClient?: Buffer;
}

/** Hex routing ids by routing-id Buffer; see {@link hexKey}. */
const hexKeys = new WeakMap<Buffer, string>();

/**
 * The hex form of a routing id, computed once per Buffer: a ROUTER hands over
 * the same routing-id Buffer with every message of a connection, so a client's
 * requests share one string instead of converting (and holding) one each.
 */
export function hexKey(id: Buffer): string {
  let key = hexKeys.get(id);
  if (key === undefined) {
    key = id.toString("hex");
    hexKeys.set(id, key);
  }
  return key;
}

// Bits of RequestRecord.bits: three per-request facts and the attempt count share one small integer.
const V02 = 1;
const DELIMITED = 2;
const GONE = 4;
const ATTEMPT = 8;

/**
 * A client request held by the broker: waiting in a service queue or held by
 * exactly one worker. A broker may hold hundreds of thousands of these, so
 * every field counts: seven fields, the flags packed in one integer behind
 * accessors, the body's single frame kept without an array, and the deadline
 * a small integer (see {@link RequestRecord.expiresAt}).
 */
export class RequestRecord {
  private bits: number;
  /**
   * When it expires if still queued, in ms on the engine's own clock (which
   * starts at 0, so the value stays a small integer rather than a boxed
   * number); unset once a worker has it.
   */
  expiresAt: number | undefined = undefined;

  constructor(
    readonly id: number,
    /**
     * Who gets the reply. Not readonly: a retry of the same request id (often
     * on a fresh socket after a timeout or failover) takes the reply over.
     */
    public client: Buffer,
    version: MdpVersion,
    delimited: boolean,
    readonly service: string,
    /** The body frames: the one frame itself, or several in an array. */
    private readonly frames: Buffer | Buffer[],
    /** The client's request id (the request-id extension), kept across its retries. */
    readonly requestId: string | undefined,
  ) {
    this.bits = (version === "0.2" ? V02 : 0) | (delimited ? DELIMITED : 0);
  }

  /** The client's hex routing id. */
  get clientKey(): string {
    return hexKey(this.client);
  }

  /** The MDP version the client spoke: the reply goes out in it. */
  get version(): MdpVersion {
    return this.bits & V02 ? "0.2" : "0.1";
  }
  set version(version: MdpVersion) {
    this.bits = version === "0.2" ? this.bits | V02 : this.bits & ~V02;
  }

  /** The client's message began with an empty delimiter frame: so does the reply. */
  get delimited(): boolean {
    return (this.bits & DELIMITED) !== 0;
  }
  set delimited(delimited: boolean) {
    this.bits = delimited ? this.bits | DELIMITED : this.bits & ~DELIMITED;
  }

  /** The client's connection dropped while a worker held the request: if that worker fails, nobody needs it. */
  get clientGone(): boolean {
    return (this.bits & GONE) !== 0;
  }
  set clientGone(gone: boolean) {
    this.bits = gone ? this.bits | GONE : this.bits & ~GONE;
  }

  /** How many times it was handed to a worker. */
  get attempts(): number {
    return Math.floor(this.bits / ATTEMPT);
  }
  set attempts(attempts: number) {
    this.bits = (this.bits % ATTEMPT) + attempts * ATTEMPT;
  }

  /** The body frames (a fresh array when the body is one frame). */
  get body(): Buffer[] {
    return Buffer.isBuffer(this.frames) ? [this.frames] : this.frames;
  }
}

/** A service's state as reported by `mmi.services` and `MajordomoBroker.services()`. */
export interface ServiceStatus {
  readonly name: string;
  /** Registered workers. */
  readonly workers: number;
  /** Workers waiting for a request. */
  readonly idle: number;
  /** Requests waiting for a worker. */
  readonly queued: number;
}

/** What {@link Service.expire} took out of the queue, and the deadline left to wait for. */
export interface Expiry {
  /** The requests whose deadline passed, in queue order, their deadlines cleared. */
  readonly expired: RequestRecord[];
  /** The earliest deadline still queued; undefined when none is. */
  readonly next: number | undefined;
}

/**
 * One service's state: its registered workers, the idle ones, and the
 * requests waiting for one. It owns no timers and sends nothing: the broker
 * engine asks it to queue, pair and expire, then does the talking.
 *
 * The engine calls {@link enqueue} and {@link pair} once per request, so they
 * allocate nothing and take no callbacks; every service is this one class, so
 * those call sites stay monomorphic.
 */
export class Service {
  private readonly workers = new Set<WorkerRecord>();
  /** Idle workers, the one idle longest first: requests go to the least recently used. */
  private readonly idle: WorkerRecord[] = [];
  /**
   * Waiting requests, oldest first. A ring buffer, not an array:
   * `Array#shift` copies the whole array once V8 stops treating it as small,
   * so one worker draining a backlog of 200,000 requests through the engine
   * took 55 s with an array, against 3.5 s with this.
   */
  private readonly queue = new Queue<RequestRecord>();

  constructor(readonly name: string) {}

  /** Registered workers. */
  get workerCount(): number {
    return this.workers.size;
  }

  /** Workers waiting for a request. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Requests waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Neither workers nor requests: nothing is lost if the registry forgets it. */
  get unused(): boolean {
    return this.workers.size === 0 && this.queue.length === 0;
  }

  /** Registers a worker; it is idle, behind those idle longer. */
  addWorker(worker: WorkerRecord): void {
    this.workers.add(worker);
    this.idle.push(worker);
  }

  /**
   * Forgets a worker, idle or busy; returns the request it held, which the
   * caller must requeue or account for (the worker no longer holds it).
   */
  removeWorker(worker: WorkerRecord): RequestRecord | undefined {
    this.workers.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    const held = worker.request;
    worker.request = undefined;
    worker.requestClient = undefined;
    return held;
  }

  /** A worker delivered its final reply: it holds nothing and waits, behind the workers idle longer. */
  release(worker: WorkerRecord): void {
    worker.request = undefined;
    worker.requestClient = undefined;
    this.idle.push(worker);
  }

  /** Queues a new request behind the others; `expiresAt` on the engine's clock, undefined for never. */
  enqueue(request: RequestRecord, expiresAt: number | undefined): void {
    request.expiresAt = expiresAt;
    this.queue.push(request);
  }

  /**
   * Puts a request a worker held back at the head of the queue, so that a
   * worker's failure does not send its request behind later ones.
   */
  requeueFront(request: RequestRecord, expiresAt: number | undefined): void {
    request.expiresAt = expiresAt;
    this.queue.unshift(request);
  }

  /**
   * Hands the oldest request to the worker idle longest, if there are both:
   * the worker then holds it (and the client address it was sent), the
   * request's attempt is counted and its deadline cleared. Returns that
   * worker, or undefined when nothing could be paired; the caller sends it
   * `worker.request`.
   */
  pair(): WorkerRecord | undefined {
    if (this.idle.length === 0 || this.queue.length === 0) return undefined;
    const worker = this.idle.shift()!;
    const request = this.queue.shift()!;
    request.expiresAt = undefined;
    request.attempts += 1;
    worker.request = request;
    worker.requestClient = request.client;
    return worker;
  }

  /**
   * Takes out every queued request whose deadline is at or before `now`, in
   * one pass over the queue (a burst that times out together costs one
   * pass, not one search per request); the rest keep their order.
   */
  expire(now: number): Expiry {
    let next = Infinity;
    const expired = this.queue.removeWhere((request) => {
      const at = request.expiresAt;
      if (at !== undefined && at <= now) return true;
      if (at !== undefined && at < next) next = at;
      return false;
    });
    for (const request of expired) request.expiresAt = undefined;
    return { expired, next: next === Infinity ? undefined : next };
  }

  /** Takes out every queued request of one client (not one a worker holds), in queue order. */
  takeQueuedFrom(clientKey: string): RequestRecord[] {
    const taken = this.queue.removeWhere((request) => request.clientKey === clientKey);
    for (const request of taken) request.expiresAt = undefined;
    return taken;
  }

  /** Takes out every queued request, in queue order. */
  takeAllQueued(): RequestRecord[] {
    const taken = this.queue.drain();
    for (const request of taken) request.expiresAt = undefined;
    return taken;
  }

  /** The counts `mmi.services` and `MajordomoBroker.services()` report. */
  status(): ServiceStatus {
    return { name: this.name, workers: this.workers.size, idle: this.idle.length, queued: this.queue.length };
  }
}
