import type { MdpVersion } from "./protocol";

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
  /** The broker is closing. */
  | "broker-closing";

/**
 * What a {@link MajordomoBroker} reports. Peer ids are the hex routing ids
 * the broker's ROUTER assigned; request ids are broker-local counters.
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
  | {
      readonly type: "request-queued";
      readonly request: number;
      readonly client: string;
      readonly service: string;
      /** Requests waiting for the service, this one included. */
      readonly queued: number;
    }
  | {
      readonly type: "request-dispatched";
      readonly request: number;
      readonly client: string;
      readonly service: string;
      readonly worker: string;
      /** 1 for the first dispatch, more after requeues. */
      readonly attempt: number;
    }
  /** The worker holding the request died or left; the request is back at the head of the queue. */
  | { readonly type: "request-requeued"; readonly request: number; readonly service: string; readonly worker: string }
  /** The request waited `requestTimeout` ms without a worker and was dropped (0.2 clients get an error reply). */
  | { readonly type: "request-expired"; readonly request: number; readonly client: string; readonly service: string }
  /** The service queue was full; the request was dropped (0.2 clients get an error reply). */
  | { readonly type: "request-rejected"; readonly request: number; readonly client: string; readonly service: string }
  | {
      readonly type: "reply-sent";
      readonly request: number;
      readonly client: string;
      readonly service: string;
      /** False for a 0.2 PARTIAL, true for the FINAL/REPLY that ends the request. */
      readonly final: boolean;
    }
  /** A peer sent something that is not MDP; it was dropped. */
  | { readonly type: "protocol-error"; readonly peer: string; readonly message: string };

/** Names of {@link BrokerEvent} types. */
export type BrokerEventType = BrokerEvent["type"];

/**
 * What a {@link MajordomoWorker} reports. `session` numbers the worker's
 * sockets (0 ... concurrency-1).
 */
export type WorkerEvent =
  /** A fresh socket is connecting and READY was sent. `attempt` counts (re)connections. */
  | { readonly type: "ready"; readonly session: number; readonly service: string; readonly attempt: number }
  | { readonly type: "request"; readonly session: number; readonly client: string }
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
  | { readonly type: "close" };

/** Names of {@link WorkerEvent} types. */
export type WorkerEventType = WorkerEvent["type"];
