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

/**
 * A service's waiting requests, oldest first. A ring buffer, not an array:
 * `Array#shift` copies the whole array once V8 stops treating it as small, so
 * one worker draining a backlog of 200,000 requests through the engine took
 * 55 s with an array, against 3.5 s with this.
 */
export type RequestQueue = Queue<RequestRecord>;

/** One service: its workers, the idle ones in least-recently-used order, and its request queue. */
export interface ServiceRecord {
  readonly name: string;
  readonly workers: Set<WorkerRecord>;
  readonly idle: WorkerRecord[];
  readonly queue: RequestQueue;
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

/** The broker's bookkeeping; it owns no timers and sends nothing. */
export class ServiceRegistry {
  private readonly services = new Map<string, ServiceRecord>();
  private readonly workers = new Map<string, WorkerRecord>();

  worker(key: string): WorkerRecord | undefined {
    return this.workers.get(key);
  }

  allWorkers(): WorkerRecord[] {
    return [...this.workers.values()];
  }

  /** The service record, created on first use. */
  service(name: string): ServiceRecord {
    let service = this.services.get(name);
    if (!service) {
      service = { name, workers: new Set(), idle: [], queue: new Queue<RequestRecord>() };
      this.services.set(name, service);
    }
    return service;
  }

  /** True when at least one worker is registered for `name` (mmi.service's question). */
  hasWorkers(name: string): boolean {
    return (this.services.get(name)?.workers.size ?? 0) > 0;
  }

  addWorker(worker: WorkerRecord): ServiceRecord {
    this.workers.set(worker.key, worker);
    const service = this.service(worker.service);
    service.workers.add(worker);
    service.idle.push(worker);
    return service;
  }

  /** Forgets a worker; returns the request it held, which the caller must requeue. */
  removeWorker(worker: WorkerRecord): RequestRecord | undefined {
    this.workers.delete(worker.key);
    const service = this.services.get(worker.service);
    if (service) {
      service.workers.delete(worker);
      const at = service.idle.indexOf(worker);
      if (at >= 0) service.idle.splice(at, 1);
    }
    const held = worker.request;
    worker.request = undefined;
    worker.requestClient = undefined;
    return held;
  }

  /** Takes every queued request of one client out of its queue (not those a worker holds). */
  takeQueuedFrom(clientKey: string): RequestRecord[] {
    const taken: RequestRecord[] = [];
    for (const service of [...this.services.values()]) {
      taken.push(...service.queue.removeWhere((request) => request.clientKey === clientKey));
      this.prune(service);
    }
    return taken.sort((a, b) => a.id - b.id);
  }

  /** Drops a service record that has neither workers nor requests, so unknown names do not accumulate. */
  prune(service: ServiceRecord): void {
    if (service.workers.size === 0 && service.queue.length === 0) this.services.delete(service.name);
  }

  status(): ServiceStatus[] {
    return [...this.services.values()]
      .map((s) => ({ name: s.name, workers: s.workers.size, idle: s.idle.length, queued: s.queue.length }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  clear(): void {
    this.services.clear();
    this.workers.clear();
  }
}
