import type { PirateError } from "./errors";

/**
 * What a Simple or Paranoid Pirate queue reports. Worker and client ids are
 * the hex of their routing ids on the queue's ROUTER sockets. `request`
 * numbers the requests the queue received (1, 2, ...; a client's retry is a
 * new request) and is on every event about one, so a request can be followed
 * from arrival to its reply through the logs.
 */
export type PirateQueueEvent =
  /** Both sockets are bound; the endpoints are the resolved ones (ephemeral ports filled in). */
  | { readonly type: "started"; readonly frontend: string; readonly backend: string }
  /** A worker said READY, or finished a request: it is idle at the back of the LRU list. */
  | { readonly type: "worker-ready"; readonly worker: string; readonly idle: number }
  /** A worker was silent for a whole heartbeat interval; it has `remaining` intervals left. */
  | { readonly type: "heartbeat-missed"; readonly worker: string; readonly remaining: number }
  /**
   * A worker was silent for `liveness` intervals in a row and was dropped; `busy` if it held a request,
   * and then `request` names it (it is lost until its client retries).
   */
  | { readonly type: "worker-expired"; readonly worker: string; readonly busy: boolean; readonly request?: number }
  /** No worker was idle: the request waits; `queued` is how many now wait. */
  | { readonly type: "request-queued"; readonly request: number; readonly client: string; readonly queued: number }
  /** The wait list was full: this request was discarded (the client's retry may succeed later). */
  | { readonly type: "request-dropped"; readonly request: number; readonly client: string; readonly queued: number }
  /** A request went to a worker. */
  | { readonly type: "request-dispatched"; readonly request: number; readonly client: string; readonly worker: string }
  /**
   * A worker's reply went back to its client. `request` is the request the
   * worker was last given; it is absent when the worker held none (a late
   * reply after it was expired and re-admitted).
   */
  | { readonly type: "reply-forwarded"; readonly request?: number; readonly client: string; readonly worker: string }
  /** A peer sent something the protocol does not allow; it was discarded. */
  | { readonly type: "protocol-error"; readonly side: "frontend" | "backend"; readonly peer: string; readonly reason: string }
  /** The queue is closed and its sockets released; the last event (named as the core sockets' last event). */
  | { readonly type: "close" };

/**
 * Where a Simple or Paranoid Pirate worker is in its life: not serving yet,
 * connecting (a fresh socket, READY not yet answered), connected (the queue
 * has been heard from; a Simple Pirate worker, which hears nothing until a
 * request, counts READY delivered), or closed.
 */
export type PirateWorkerState = "new" | "connecting" | "connected" | "closed";

/** What a Simple or Paranoid Pirate worker reports. */
export type PirateWorkerEvent =
  /** A fresh socket is connecting to the queue; `attempt` counts from 1 and restarts after the queue is heard. */
  | { readonly type: "connecting"; readonly endpoint: string; readonly attempt: number }
  /** READY (`01`) was sent on the fresh socket. */
  | { readonly type: "ready-sent"; readonly endpoint: string }
  /** The first message from the queue arrived on this socket: the conversation is live. */
  | { readonly type: "reconnected"; readonly endpoint: string }
  /** The queue was silent for a whole heartbeat interval; `remaining` intervals are left. */
  | { readonly type: "heartbeat-missed"; readonly remaining: number }
  /** The queue was silent for `liveness` intervals; the socket was dropped and a fresh one follows after `delay` ms. */
  | { readonly type: "queue-lost"; readonly delay: number }
  /** A request arrived and was passed to the handler. */
  | { readonly type: "request"; readonly frames: number }
  /** The handler's reply was sent. */
  | { readonly type: "reply-sent"; readonly frames: number }
  /** The handler failed; no reply was sent, READY was sent instead so the queue gives us new work. */
  | { readonly type: "handler-error"; readonly error: unknown }
  /** The queue sent something RFC 6 does not allow here; it was discarded. */
  | { readonly type: "protocol-error"; readonly reason: string }
  /** The worker is closed and its socket released; the last event. */
  | { readonly type: "close" };

/**
 * What a Lazy Pirate client reports. `request` numbers the client's
 * requests (1, 2, ... in call order) and is on every event about one, and
 * in its log lines, so one request can be followed through the logs.
 */
export type LazyPirateEvent =
  /** A request went out; `attempt` counts from 1. */
  | { readonly type: "request-sent"; readonly request: number; readonly attempt: number }
  /** No reply within the timeout; the request will be sent again on a fresh socket. */
  | { readonly type: "retry"; readonly request: number; readonly attempt: number; readonly retriesLeft: number }
  /** The old socket was closed (linger 0) and a fresh one connected. */
  | { readonly type: "reconnect"; readonly endpoints: readonly string[] }
  /** The reply arrived, after `attempt` attempts. */
  | { readonly type: "reply"; readonly request: number; readonly attempt: number }
  /** Every attempt timed out; the request failed with `error`. */
  | { readonly type: "gave-up"; readonly request: number; readonly attempts: number; readonly error: PirateError }
  /** The caller unsubscribed before the reply arrived. */
  | { readonly type: "abandoned"; readonly request: number; readonly attempt: number }
  /** The request's AbortSignal fired; it failed with reason "aborted" and will not be retried. `attempt` is 0 if it was never sent. */
  | { readonly type: "aborted"; readonly request: number; readonly attempt: number }
  /** The client is closed and its socket released; the last event. */
  | { readonly type: "close" };
