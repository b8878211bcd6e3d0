import { Liveness } from "./liveness";

/** One worker as the queue sees it. */
export interface PooledWorker {
  /** The worker's routing id on the backend ROUTER. */
  readonly id: Buffer;
  /** Waiting for a request (true) or handling one (false). */
  idle: boolean;
  readonly liveness: Liveness;
}

/** What one heartbeat tick found. */
export interface PoolTick {
  /** Workers silent for this interval but not yet dead, with the intervals they have left. */
  readonly missed: ReadonlyArray<{ readonly worker: PooledWorker; readonly remaining: number }>;
  /** Workers silent for `liveness` intervals in a row; already removed from the pool. */
  readonly expired: readonly PooledWorker[];
}

/**
 * The queue's workers: a least-recently-used list of idle ones, plus the
 * busy ones, each with its own liveness count. Pure state: the queue owns
 * the sockets and the clock.
 */
export class WorkerPool {
  private readonly workers = new Map<string, PooledWorker>();
  /** Idle workers, least recently used first. Map order is insertion order, so re-inserting moves to the back. */
  private readonly idleQueue = new Map<string, PooledWorker>();

  constructor(private readonly liveness: number) {}

  get size(): number {
    return this.workers.size;
  }

  get idleCount(): number {
    return this.idleQueue.size;
  }

  get(id: Buffer): PooledWorker | undefined {
    return this.workers.get(key(id));
  }

  /** Records any message from a worker as a sign of life; adds it (busy) if it is new. */
  heard(id: Buffer): PooledWorker {
    let worker = this.workers.get(key(id));
    if (!worker) {
      worker = { id, idle: false, liveness: new Liveness(this.liveness) };
      this.workers.set(key(id), worker);
    }
    worker.liveness.heard();
    return worker;
  }

  /**
   * The worker can take a request: it goes to the back of the idle list. A
   * worker that was already idle keeps its place, so heartbeats do not
   * reorder the list.
   */
  ready(id: Buffer): PooledWorker {
    const worker = this.heard(id);
    if (!worker.idle) {
      worker.idle = true;
      this.idleQueue.set(key(id), worker);
    }
    return worker;
  }

  /** Takes the least recently used idle worker and marks it busy. */
  take(): PooledWorker | undefined {
    const first = this.idleQueue.entries().next();
    if (first.done) return undefined;
    const [k, worker] = first.value;
    this.idleQueue.delete(k);
    worker.idle = false;
    return worker;
  }

  remove(id: Buffer): PooledWorker | undefined {
    const worker = this.workers.get(key(id));
    if (!worker) return undefined;
    this.workers.delete(key(id));
    this.idleQueue.delete(key(id));
    return worker;
  }

  /** Every known worker, idle or busy (heartbeats go to all of them). */
  all(): PooledWorker[] {
    return [...this.workers.values()];
  }

  /** Closes one heartbeat interval for every worker, and removes the dead. */
  tick(): PoolTick {
    const missed: Array<{ worker: PooledWorker; remaining: number }> = [];
    const expired: PooledWorker[] = [];
    for (const worker of this.workers.values()) {
      const state = worker.liveness.tick();
      if (state === "missed") missed.push({ worker, remaining: worker.liveness.remaining });
      else if (state === "dead") expired.push(worker);
    }
    for (const worker of expired) this.remove(worker.id);
    return { missed, expired };
  }
}

function key(id: Buffer): string {
  return id.toString("latin1");
}
