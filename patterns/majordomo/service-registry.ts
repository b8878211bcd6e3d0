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
}

/** A client request held by the broker: waiting in a service queue or held by exactly one worker. */
export interface RequestRecord {
  readonly id: number;
  /**
   * Who gets the reply. Not readonly: a retry of the same request id (often
   * on a fresh socket after a timeout or failover) takes the reply over.
   */
  client: Buffer;
  clientKey: string;
  version: MdpVersion;
  delimited: boolean;
  readonly service: string;
  /** The client's request id (the request-id extension), kept across its retries. */
  readonly requestId?: string;
  readonly body: Buffer[];
  /**
   * The client address the worker holding it was given: its reply names that
   * one, even after a retry moved `client` to a fresh socket.
   */
  dispatchedClient?: Buffer;
  /** How many times it was handed to a worker. */
  attempts: number;
  /** When it expires if still queued (scheduler time); unset once a worker has it. */
  expiresAt?: number;
  /** The client's connection dropped while a worker held the request: if that worker fails, nobody needs it. */
  clientGone?: boolean;
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
