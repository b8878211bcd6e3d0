import { LruQueue, type PirateQueueOptions, type WorkerMessage } from "./lru-queue";
import { pppCommand } from "./ppp";

const DELIMITER = Buffer.alloc(0);

/** Options of a {@link SimplePirateQueue}. */
export type SimplePirateQueueOptions = PirateQueueOptions;

/**
 * The zguide's Simple Pirate queue (`spqueue`): a plain LRU broker with no
 * heartbeats. Workers are REQ sockets that first send READY (`01`) and then
 * answer each request; every reply makes the worker idle again. It cannot
 * tell a dead worker from a busy or idle one: a request routed to a worker
 * that has gone is lost, and the client's retry (Lazy Pirate) recovers it.
 * Use {@link ParanoidPirateQueue} when workers may die.
 */
export class SimplePirateQueue extends LruQueue {
  constructor(options: SimplePirateQueueOptions = {}) {
    // Liveness never runs down: no heartbeat timer ticks the pool.
    super("simple-pirate-queue", 1, options);
  }

  protected decodeWorker(frames: Buffer[]): WorkerMessage {
    // A REQ worker's messages start with the empty delimiter its socket added.
    if (frames.length < 2 || frames[0]!.length !== 0) return { kind: "invalid", reason: "missing REQ delimiter" };
    const content = frames.slice(1);
    if (pppCommand(content) === "ready") return { kind: "ready" };
    if (content.length < 2 || content[0]!.length === 0) return { kind: "invalid", reason: "reply without a client address" };
    return { kind: "reply", reply: content };
  }

  protected encodeRequest(request: Buffer[]): Buffer[] {
    return [DELIMITER, ...request];
  }
}
