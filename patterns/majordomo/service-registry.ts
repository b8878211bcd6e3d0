import { Service, type RequestRecord, type ServiceStatus, type WorkerRecord } from "./service";

export type { ServiceStatus } from "./service";

/**
 * The broker's bookkeeping: its services by name and its workers by routing
 * id. It owns no timers and sends nothing; what one service holds, and how
 * its requests meet its workers, is {@link Service}'s.
 */
export class ServiceRegistry {
  private readonly services = new Map<string, Service>();
  private readonly workers = new Map<string, WorkerRecord>();

  worker(key: string): WorkerRecord | undefined {
    return this.workers.get(key);
  }

  allWorkers(): WorkerRecord[] {
    return [...this.workers.values()];
  }

  /** The service, created on first use. */
  service(name: string): Service {
    let service = this.services.get(name);
    if (!service) {
      service = new Service(name);
      this.services.set(name, service);
    }
    return service;
  }

  /** True when at least one worker is registered for `name` (mmi.service's question). */
  hasWorkers(name: string): boolean {
    return (this.services.get(name)?.workerCount ?? 0) > 0;
  }

  /** Registers a worker with its service (created if new); returns that service. */
  addWorker(worker: WorkerRecord): Service {
    this.workers.set(worker.key, worker);
    const service = this.service(worker.service);
    service.addWorker(worker);
    return service;
  }

  /** Forgets a worker; returns the request it held, which the caller must requeue. */
  removeWorker(worker: WorkerRecord): RequestRecord | undefined {
    this.workers.delete(worker.key);
    // A registered worker's service exists: it is dropped only once it has no workers.
    return this.service(worker.service).removeWorker(worker);
  }

  /** Takes every queued request of one client out of its queue (not those a worker holds), oldest first. */
  takeQueuedFrom(clientKey: string): RequestRecord[] {
    const taken: RequestRecord[] = [];
    for (const service of [...this.services.values()]) {
      for (const request of service.takeQueuedFrom(clientKey)) taken.push(request);
      this.prune(service);
    }
    return taken.sort((a, b) => a.id - b.id);
  }

  /** Takes every queued request of every service out of its queue, oldest first. */
  takeAllQueued(): RequestRecord[] {
    const taken: RequestRecord[] = [];
    for (const service of this.services.values()) {
      for (const request of service.takeAllQueued()) taken.push(request);
    }
    return taken.sort((a, b) => a.id - b.id);
  }

  /** Drops a service that has neither workers nor requests, so unknown names do not accumulate. */
  prune(service: Service): void {
    if (service.unused) this.services.delete(service.name);
  }

  status(): ServiceStatus[] {
    return [...this.services.values()].map((s) => s.status()).sort((a, b) => a.name.localeCompare(b.name));
  }

  clear(): void {
    this.services.clear();
    this.workers.clear();
  }
}
