import { firstValueFrom, Observable, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import { Request, type MessageLike, type SocketOptions } from "../../src";
import { resolveRequestOptions, type RequestOptions } from "./request-options";
import { socketReleased } from "./released";
import { RequestCore, type CoreJob, type RequestCarrier } from "./request-core";

/** Why a request failed; each pattern family turns it into its own error class. */
export type RequestFailureReason = "timeout" | "closed" | "aborted" | "socket";

/**
 * The events the shared engine itself reports. `TTarget` is what a family
 * adds about where an attempt went (Binary Star: server and endpoint; Lazy
 * Pirate: nothing), carried by `request-sent` and `reply`.
 */
export type RetryingRequestEvent<TTarget extends object, TError> =
  | ({ readonly type: "request-sent"; readonly request: number } & TTarget & { readonly attempt: number })
  | ({ readonly type: "reply"; readonly request: number } & TTarget & { readonly attempt: number })
  | { readonly type: "gave-up"; readonly request: number; readonly attempts: number; readonly error: TError }
  | { readonly type: "abandoned"; readonly request: number; readonly attempt: number }
  | { readonly type: "aborted"; readonly request: number; readonly attempt: number }
  | { readonly type: "close" };

/** The attempt a policy hook is asked about. */
export interface Attempt {
  /** The client-local request number (1, 2, ... in call order). */
  readonly request: number;
  /** Counts from 1 per request. */
  readonly attempt: number;
  /** Resends still allowed after this attempt (0 on the last one). */
  readonly retriesLeft: number;
}

/**
 * What distinguishes one retrying REQ client from another: where each
 * attempt goes, what happens between attempts, and the family's own error
 * class and extra events. Hooks that report something get `emit` for the
 * family's extra events (`TExtra`).
 */
export interface RetryPolicy<TTarget extends object, TExtra extends { readonly type: string }, TError extends Error> {
  /** Builds the family's error for a request that failed for `reason`. */
  error(reason: RequestFailureReason, message: string, options?: { cause?: unknown }): TError;
  /** The message of the "timeout" error after `attempts` silent attempts of `timeout` ms each. */
  exhaustedMessage(attempts: number, timeout: number): string;
  /** Connects a freshly created socket: the first one, or the one replacing a socket dropped after a timeout. */
  connect(socket: Request, emit: (event: TExtra) => void): void;
  /** Called once per attempt just before it is sent; returns what its `request-sent` and `reply` events carry. */
  sending(attempt: Attempt): TTarget;
  /** Reports an attempt that timed out (its socket is already dropped), before the engine retries or gives up. */
  timedOut?(attempt: Attempt, emit: (event: TExtra) => void): void;
  /**
   * The timed-out `attempt` will be followed by another: returns `undefined`
   * to resend at once, or the ms to wait first (a wait of 0 still goes
   * through the scheduler).
   */
  retry(attempt: Attempt, emit: (event: TExtra) => void): number | undefined;
}

/** The client-wide settings, validated by the family's constructor. */
export interface RetryingRequestSettings {
  /** Default ms to wait for each reply. */
  readonly timeout: number;
  /** Default resends after a timeout. */
  readonly retries: number;
  readonly scheduler: SchedulerLike;
  /** Logger of the client; the sockets log under it too. */
  readonly logger: Logger;
  /**
   * Options for every REQ socket the client opens, the first and each one
   * replacing a socket dropped after a timeout, applied over the default
   * `linger: 0`. The REQ connects, so it takes a mechanism's client role
   * (for CURVE: `curveServerKey`, `curveSecretKey`). A function is called
   * for each socket, after the policy's `sending` chose the target.
   */
  readonly socket?: SocketOptions | (() => SocketOptions);
}

/** A request over REQ: the frames each attempt sends. */
interface ReqJob extends CoreJob {
  readonly frames: readonly MessageLike[];
}

/**
 * The REQ carrier behind the Lazy Pirate and Binary Star clients, on the
 * shared {@link RequestCore}: one lane, one request in flight at a time, as
 * REQ demands, served in call order. Each attempt waits its `timeout`; when
 * that expires the socket (a REQ stuck waiting for a reply that will never
 * come) is closed with linger 0, and the next attempt, if any is left, goes
 * out on a fresh one; the policy decides where and when. A socket that got
 * its reply is kept for the next request. Replies carry no id, so a request
 * abandoned or aborted in flight costs its socket too.
 */
export class RetryingRequestClient<TTarget extends object, TExtra extends { readonly type: string }, TError extends Error>
  implements RequestCarrier<ReqJob, TError>
{
  /** Every event of the client; completes after `{ type: "close" }`. Hot: nothing is replayed. */
  readonly events$: Observable<RetryingRequestEvent<TTarget, TError> | TExtra>;

  private readonly core: RequestCore<ReqJob, RetryingRequestEvent<TTarget, TError> | TExtra, TError>;
  private socket?: Request;
  private readonly emitExtra = (event: TExtra): void => this.core.emit(event);

  constructor(
    private readonly settings: RetryingRequestSettings,
    private readonly policy: RetryPolicy<TTarget, TExtra, TError>,
  ) {
    this.core = new RequestCore({ scheduler: settings.scheduler, logger: settings.logger, maxInFlight: 1 });
    this.core.attach(this);
    this.events$ = this.core.events$;
  }

  get closed(): boolean {
    return this.core.closed;
  }

  /** Queues a request when subscribed; see the family clients' `request` for the contract. */
  request(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Observable<Buffer[]> {
    const frames: readonly MessageLike[] = Array.isArray(body) ? [...(body as readonly MessageLike[])] : [body as MessageLike];
    // Validated here, so a bad option throws at the call rather than inside a subscription.
    const resolved = resolveRequestOptions(options, { timeout: this.settings.timeout, retries: this.settings.retries });
    return new Observable<Buffer[]>((subscriber) => {
      if (this.core.closed) {
        subscriber.error(this.policy.error("closed", "client is closed"));
        return undefined;
      }
      const id = this.core.nextId();
      const job: ReqJob = {
        id,
        key: id,
        lane: "",
        frames,
        subscriber,
        timeout: resolved.timeout,
        retries: resolved.retries,
        attempts: 0,
        active: false,
        done: false,
        sentOn: 0,
        release: () => undefined,
      };
      return this.core.submit(job, resolved.signal);
    });
  }

  /** {@link request} as a Promise of the reply's frames. */
  call(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Promise<Buffer[]> {
    return firstValueFrom(this.request(body, options));
  }

  /** Drops the socket, fails pending requests with "closed"; resolves after the `close` event. Idempotent. */
  close(): Promise<void> {
    return this.core.close();
  }

  /** {@link RequestCarrier} hook: one attempt on the current socket, or a fresh one after a timeout. */
  transmit(job: ReqJob): void {
    const target = this.policy.sending(this.attemptOf(job));
    let socket: Request;
    try {
      socket = this.openSocket();
    } catch (error) {
      // Options the socket refuses (a malformed key, say) fail the request rather than escape from a timer.
      this.core.fail(job, this.policy.error("socket", "could not open a socket", { cause: error }));
      this.core.pump();
      return;
    }
    socket.send(job.frames).catch((error: unknown) => {
      if (socket === this.socket) this.core.fail(job, this.policy.error("socket", "could not send the request", { cause: error }));
    });
    this.core.emit({ type: "request-sent", request: job.id, ...target, attempt: job.attempts });
    socket.receive().then(
      (reply) => {
        if (socket !== this.socket || !job.active || job.done) return;
        this.core.emit({ type: "reply", request: job.id, ...target, attempt: job.attempts });
        this.core.settle(job, undefined, reply);
      },
      // The socket was replaced or closed; whoever did that has settled or resent the job.
      () => undefined,
    );
  }

  /** {@link RequestCarrier} hook: closes the socket (linger 0); on close, returns when it is released. */
  drop(): Promise<void> | undefined {
    const socket = this.socket;
    if (!socket) return undefined;
    this.socket = undefined;
    socket.close();
    return this.core.closed ? socketReleased(socket) : undefined;
  }

  /** {@link RequestCarrier} hook: REQ matches a reply to the one request in flight: never more than one. */
  pipelining(): boolean {
    return false;
  }

  /** {@link RequestCarrier} hook: a REQ reply carries no id: a late one would be taken for the next request's. */
  idsMatched(): boolean {
    return false;
  }

  /** {@link RequestCarrier} hook. */
  timedOut(job: ReqJob): void {
    this.policy.timedOut?.(this.attemptOf(job), this.emitExtra);
  }

  /** {@link RequestCarrier} hook. */
  gaveUp(job: ReqJob): TError {
    const error = this.policy.error("timeout", this.policy.exhaustedMessage(job.attempts, job.timeout));
    this.core.emit({ type: "gave-up", request: job.id, attempts: job.attempts, error });
    return error;
  }

  /** {@link RequestCarrier} hook. */
  retry(job: ReqJob): number | undefined {
    return this.policy.retry(this.attemptOf(job), this.emitExtra);
  }

  /** {@link RequestCarrier} hook: a request that was only waiting its turn leaves without an event. */
  abandoned(job: ReqJob, wasActive: boolean): void {
    if (wasActive) this.core.emit({ type: "abandoned", request: job.id, attempt: job.attempts });
  }

  /** {@link RequestCarrier} hook. */
  aborted(job: ReqJob): TError {
    this.core.emit({ type: "aborted", request: job.id, attempt: job.attempts });
    return this.policy.error("aborted", `request ${job.id} was aborted`);
  }

  /** {@link RequestCarrier} hook. */
  closedError(): TError {
    return this.policy.error("closed", "client was closed before the reply arrived");
  }

  private attemptOf(job: ReqJob): Attempt {
    return { request: job.id, attempt: job.attempts, retriesLeft: job.retries + 1 - job.attempts };
  }

  private socketOptions(): SocketOptions | undefined {
    const socket = this.settings.socket;
    return typeof socket === "function" ? socket() : socket;
  }

  private openSocket(): Request {
    if (this.socket) return this.socket;
    const socket = new Request({ linger: 0, ...this.socketOptions(), logger: this.settings.logger });
    // Held before the policy reports anything, so a listener that closes the client closes this socket too.
    this.socket = socket;
    this.policy.connect(socket, this.emitExtra);
    return socket;
  }
}

/** What a {@link RetryingClient} needs of its engine: a {@link RetryingRequestClient} seen through its events. */
export interface RetryingEngine<TEvent> {
  readonly events$: Observable<TEvent>;
  readonly closed: boolean;
  request(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Observable<Buffer[]>;
  call(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Promise<Buffer[]>;
  close(): Promise<void>;
}

/**
 * The public face both REQ clients share (Lazy Pirate, Binary Star): the
 * family class builds its engine and policy; requests, events and close
 * are the engine's. `TEvent` is the family's event union.
 */
export abstract class RetryingClient<TEvent> {
  /** The family's {@link RetryingRequestClient}, set by its constructor. */
  protected abstract readonly engine: RetryingEngine<TEvent>;

  /**
   * What the client does, as a typed stream; completes after `{ type: "close" }`.
   * Hot: events are not replayed, so subscribe before the first request.
   */
  get events$(): Observable<TEvent> {
    return this.engine.events$;
  }

  /** True once close() has been called; requests made after it fail with reason `closed`. */
  get closed(): boolean {
    return this.engine.closed;
  }

  /**
   * Sends a request when subscribed. Emits the reply's frames once and
   * completes, or errors with the family's error class: reason
   * "timeout" after `retries + 1` silent attempts, "aborted" when
   * `options.signal` fired, "closed" if the client was closed first,
   * "socket" when no socket could be opened with the client's socket
   * options. `options` override the client's `timeout` and `retries` for
   * this request. Unsubscribing abandons the request (a request in flight
   * costs the socket, which is replaced).
   */
  request(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Observable<Buffer[]> {
    return this.engine.request(body, options);
  }

  /** {@link request} as a Promise of the reply's frames; rejects with the same errors. */
  call(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Promise<Buffer[]> {
    return this.engine.call(body, options);
  }

  /**
   * Closes the socket (linger 0); pending requests fail with reason
   * "closed". Resolves once the socket is released, just after the `close`
   * event. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.engine.close();
  }
}
