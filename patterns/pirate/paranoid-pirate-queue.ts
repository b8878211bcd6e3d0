import { interval } from "rxjs";
import { LruQueue, type PirateQueueOptions, type WorkerMessage } from "./lru-queue";
import { positive } from "../shared/validate";
import { pppHeartbeatFrame, idText, pppCommand } from "./ppp";

/** Options of a {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueOptions extends PirateQueueOptions {
  /** ms between the HEARTBEATs sent to every worker, and between liveness checks. Default 1000. */
  heartbeatInterval?: number;
  /** Silent heartbeat intervals in a row after which a worker is dropped. Default 3. */
  liveness?: number;
}

/**
 * RFC 6 (PPP) queue, compatible with the zguide's `ppqueue`: clients (REQ
 * or Lazy Pirate) connect to the frontend, PPP workers (DEALER) to the
 * backend. Workers announce themselves with READY (`01`); the queue sends
 * HEARTBEAT (`02`) to every worker each interval and drops a worker that
 * has been silent for `liveness` intervals, so requests stop going to dead
 * workers. A request sent to a worker that dies with it is lost; the
 * client's retry recovers it.
 *
 * @example
 * ```ts
 * const queue = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:5555", backend: "tcp://127.0.0.1:5556" });
 * queue.events$.subscribe((e) => e.type === "worker-expired" && console.warn("lost", e.worker));
 * await queue.start();
 * ```
 */
export class ParanoidPirateQueue extends LruQueue {
  readonly heartbeatInterval: number;
  readonly liveness: number;

  constructor(options: ParanoidPirateQueueOptions = {}) {
    const liveness = positive("liveness", options.liveness ?? 3);
    super("paranoid-pirate-queue", liveness, options);
    this.liveness = liveness;
    this.heartbeatInterval = positive("heartbeatInterval", options.heartbeatInterval ?? 1000);
  }

  protected decodeWorker(frames: Buffer[]): WorkerMessage {
    if (frames.length === 1) {
      const command = pppCommand(frames);
      if (command) return { kind: command };
      return { kind: "invalid", reason: "one-frame message that is neither READY nor HEARTBEAT" };
    }
    if (frames.length === 0 || frames[0]!.length === 0) return { kind: "invalid", reason: "reply without a client address" };
    return { kind: "reply", reply: frames };
  }

  protected encodeRequest(request: Buffer[]): Buffer[] {
    return request;
  }

  protected override onStart(): void {
    this.track(interval(this.heartbeatInterval, this.scheduler).subscribe(() => this.beat()));
  }

  private beat(): void {
    if (this.isClosed()) return;
    const { missed, expired } = this.pool.tick();
    for (const { worker, remaining } of missed) {
      this.emit({ type: "heartbeat-missed", worker: idText(worker.id), remaining });
    }
    for (const worker of expired) {
      const request = this.takeAssignment(worker.id);
      this.emit({
        type: "worker-expired",
        worker: idText(worker.id),
        busy: !worker.idle,
        ...(request === undefined || worker.idle ? {} : { request }),
      });
    }
    for (const worker of this.pool.all()) this.sendToWorker(worker.id, [pppHeartbeatFrame()]);
  }
}
