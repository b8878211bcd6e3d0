import type { MdpVersion } from "./protocol";
import type { MajordomoError } from "./errors";

/** Why the broker dropped a worker. */
export type WorkerDropReason =
  /** The worker sent DISCONNECT. */
  | "worker-disconnect"
  /** The worker sent a command that is valid MDP but wrong at that point (e.g. a second READY). */
  | "unexpected-command"
  /** The worker sent frames that are not valid MDP. */
  | "invalid-message"
  /** The worker tried to register a service in the reserved `mmi.` namespace. */
  | "reserved-service"
  /** The worker answered a request it was not given. */
  | "unexpected-reply"
  /** The worker's connection to the broker's socket dropped (the ROUTER reported it gone). */
  | "connection-lost"
  /** The broker is closing. */
  | "broker-closing"
  /** The broker stopped serving: one broker of a pair left active, or was fenced after a stall (see {@link BrokerResetReason}). */
  | BrokerResetReason;

/**
 * Why a broker of a pair dropped its workers and queue while staying up:
 * it became passive (the other broker serves), or it was fenced after its
 * process stalled (its view of the pair may be stale).
 */
export type BrokerResetReason = "broker-passive" | "broker-fenced";

/**
 * What every request event of a {@link MajordomoBroker} carries, so one
 * request can be followed through the logs from queued to reply-sent.
 */
export interface RequestIds {
  /** The broker's request counter (local to one broker, from 1). */
  readonly request: number;
  /** Hex routing id of the client that sent it (the ROUTER's, as in every broker event). */
  readonly client: string;
  /** `client:request`: one key, unique per broker, that names the request in every event about it. */
  readonly trace: string;
  readonly service: string;
  /** The client's own request id, when the client and broker speak the request-id extension. */
  readonly requestId?: string;
}

/**
 * What a {@link MajordomoBroker} reports. Peer ids are the hex routing ids
 * the broker's ROUTER assigned; request ids are broker-local counters.
 * Events about one request carry its {@link RequestIds}.
 */
export type BrokerEvent =
  | { readonly type: "worker-ready"; readonly worker: string; readonly service: string; readonly version: MdpVersion }
  /** The worker missed heartbeats: nothing heard for `missed` intervals (it expires at `liveness`). */
  | { readonly type: "heartbeat-missed"; readonly worker: string; readonly service: string; readonly missed: number }
  /** The worker was silent for `liveness` intervals and was removed. */
  | { readonly type: "worker-expired"; readonly worker: string; readonly service: string }
  /** The worker was removed for another reason; DISCONNECT was sent unless it asked to leave. */
  | {
      readonly type: "worker-disconnected";
      readonly worker: string;
      readonly service?: string;
      readonly reason: WorkerDropReason;
    }
  | (RequestIds & {
      readonly type: "request-queued";
      /** Requests waiting for the service, this one included. */
      readonly queued: number;
    })
  | (RequestIds & {
      readonly type: "request-dispatched";
      readonly worker: string;
      /** 1 for the first dispatch, more after requeues. */
      readonly attempt: number;
    })
  /** The worker holding the request died or left; the request is back at the head of the queue. */
  | (RequestIds & { readonly type: "request-requeued"; readonly worker: string })
  /**
   * The request waited `requestTimeout` ms without a worker and was dropped (0.2 clients get an error reply;
   * 0.1 clients get nothing). Never happens with the default `requestTimeout` 0.
   */
  | (RequestIds & { readonly type: "request-expired" })
  /**
   * The client's connection dropped, and the request was removed unanswered: at once if it waited in a
   * queue, or instead of being requeued if the worker holding it failed afterwards.
   */
  | (RequestIds & { readonly type: "request-abandoned" })
  /**
   * The service queue held `maxQueuedRequests`; the request was dropped (0.2 clients get an error reply;
   * 0.1 clients get nothing). Never happens with the default `maxQueuedRequests` 0.
   */
  | (RequestIds & { readonly type: "request-rejected" })
  /**
   * The broker stopped serving (see {@link BrokerResetReason}) and dropped the request, queued or held by a
   * worker, without a reply: its client retries on the other broker of the pair.
   */
  | (RequestIds & { readonly type: "request-dropped"; readonly reason: BrokerResetReason })
  | (RequestIds & {
      readonly type: "reply-sent";
      /** False for a 0.2 PARTIAL, true for the FINAL/REPLY that ends the request. */
      readonly final: boolean;
    })
  /**
   * A retry of a request id that is still queued or held by a worker: it was not queued again; the original's
   * reply goes to `client` (the retry's sender) instead.
   */
  | (RequestIds & { readonly type: "request-joined" })
  /** A retry of a recently completed request id: answered from the broker's reply cache, no worker involved. */
  | (RequestIds & { readonly type: "reply-replayed" })
  /** A peer sent something that is not MDP; it was dropped. */
  | { readonly type: "protocol-error"; readonly peer: string; readonly message: string }
  /**
   * close() was called and the socket (and a pair's sockets) released; the
   * last event of {@link MajordomoBroker.events$}, as `close` is of every
   * other pattern component's stream.
   */
  | { readonly type: "close" };

/** Names of {@link BrokerEvent} types. */
export type BrokerEventType = BrokerEvent["type"];

/**
 * What a {@link MajordomoWorker} reports. `session` numbers the worker's
 * sockets (0 ... concurrency-1).
 */
export type WorkerEvent =
  /**
   * A fresh socket is connecting and READY was sent. `attempt` counts (re)connections; `broker` is the
   * endpoint it went to (absent when a custom link factory chose).
   */
  | { readonly type: "ready"; readonly session: number; readonly service: string; readonly attempt: number; readonly broker?: string }
  | {
      readonly type: "request";
      readonly session: number;
      readonly client: string;
      /** The client's request id, when client, broker and worker speak the request-id extension. */
      readonly requestId?: string;
    }
  /**
   * With `idempotency`: the request id was already recorded in the store, so its recorded reply was sent
   * and the handler did not run.
   */
  | { readonly type: "reply-replayed"; readonly session: number; readonly client: string; readonly requestId: string }
  | { readonly type: "reply"; readonly session: number; readonly client: string; readonly final: boolean }
  /** A reply was discarded because the socket it belonged to was replaced (the broker requeues such requests). */
  | { readonly type: "reply-dropped"; readonly session: number; readonly client: string }
  | { readonly type: "handler-error"; readonly session: number; readonly client: string; readonly error: Error }
  | { readonly type: "heartbeat-missed"; readonly session: number; readonly liveness: number }
  /** No sign of the broker for `liveness` intervals; the socket is replaced after `reconnectInterval`. */
  | { readonly type: "broker-lost"; readonly session: number }
  /** The broker sent DISCONNECT; the socket is replaced at once. */
  | { readonly type: "disconnect-received"; readonly session: number }
  | { readonly type: "protocol-error"; readonly session: number; readonly message: string }
  /** close() was called and every socket is released; the last event. */
  | { readonly type: "close" };

/** Where a {@link MajordomoWorker} is in its life: before serve(), serving (its sessions reconnect by themselves), or closed. */
export type WorkerState = "new" | "serving" | "closed";

/** Names of {@link WorkerEvent} types. */
export type WorkerEventType = WorkerEvent["type"];

/**
 * What a {@link MajordomoClient} or {@link MajordomoAsyncClient} reports.
 * `request` numbers the client's requests (1, 2, ... in call order) and is
 * on every event about one request, and in its log lines, so a request can
 * be followed through the logs. `attempt` counts sends of one request (1
 * for the first); `socket` numbers the sockets the client opened (1 for the
 * first; Lazy Pirate opens a fresh one after each timeout).
 */
export type MajordomoClientEvent =
  /** The request was written to socket `socket` (again, after a retry, when `attempt` > 1). */
  | {
      readonly type: "request-sent";
      readonly request: number;
      readonly service: string;
      readonly attempt: number;
      readonly socket: number;
    }
  /** A reply part arrived; `final` is false for a 0.2 PARTIAL. */
  | { readonly type: "reply"; readonly request: number; readonly service: string; readonly attempt: number; readonly final: boolean }
  /** No reply (or next partial) within `timeout` ms of attempt `attempt`. */
  | { readonly type: "timeout"; readonly request: number; readonly service: string; readonly attempt: number }
  /** After a timeout the request is sent again as attempt `attempt` on a fresh socket. */
  | { readonly type: "retry"; readonly request: number; readonly service: string; readonly attempt: number }
  /** Every attempt timed out; the request failed with reason "timeout". */
  | { readonly type: "gave-up"; readonly request: number; readonly service: string; readonly attempts: number }
  /** The broker or worker answered with an error reply; the request failed with `error`. */
  | { readonly type: "error-reply"; readonly request: number; readonly service: string; readonly error: MajordomoError }
  /** The caller unsubscribed before the final reply. */
  | { readonly type: "abandoned"; readonly request: number; readonly service: string }
  /** The request's AbortSignal fired; it failed with reason "aborted" and will not be retried. */
  | { readonly type: "aborted"; readonly request: number; readonly service: string }
  /**
   * A fresh socket replaced the old one: after a timeout, or after a request
   * was abandoned or aborted mid-flight (so its late reply cannot be taken for another's).
   */
  | { readonly type: "reconnected"; readonly socket: number; readonly cause: "timeout" | "abandoned" | "aborted" }
  /** Socket `socket` completed its handshake with the broker (also after it reconnected by itself). */
  | { readonly type: "connected"; readonly socket: number }
  /** Socket `socket` lost its connection to the broker; it reconnects by itself. */
  | { readonly type: "disconnected"; readonly socket: number }
  /**
   * close() was called and the socket is released; pending requests failed
   * with reason "closed". The last event.
   */
  | { readonly type: "close" };

/** Names of {@link MajordomoClientEvent} types. */
export type MajordomoClientEventType = MajordomoClientEvent["type"];
