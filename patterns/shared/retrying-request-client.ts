import { firstValueFrom, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { Request, type MessageLike, type SocketOptions } from "../../src";
import { onAbort, resolveRequestOptions, type RequestOptions } from "./request-options";
import { socketReleased } from "./released";

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

interface Job {
  /** The client-local request number carried by this request's events and log lines. */
  readonly id: number;
  readonly frames: readonly MessageLike[];
  readonly subscriber: Subscriber<Buffer[]>;
  readonly timeout: number;
  readonly retries: number;
  attempt: number;
  done: boolean;
  /** Stops listening to the request's AbortSignal. */
  release: () => void;
}

/**
 * The one-request-at-a-time REQ engine behind the Lazy Pirate and Binary Star
 * clients. Requests are served in call order, as REQ demands. Each attempt
 * waits its `timeout`; when that expires the socket (a REQ stuck waiting for a
 * reply that will never come) is closed with linger 0, and the next attempt,
 * if any is left, goes out on a fresh one; the policy decides where and when.
 * A socket that got its reply is kept for the next request.
 */
export class RetryingRequestClient<TTarget extends object, TExtra extends { readonly type: string }, TError extends Error> {
  /** Every event of the client; completes after `{ type: "close" }`. Hot: nothing is replayed. */
  readonly events$: Observable<RetryingRequestEvent<TTarget, TError> | TExtra>;

  private readonly events = new Subject<RetryingRequestEvent<TTarget, TError> | TExtra>();
  private readonly jobs: Array<Job> = [];
  private current?: Job;
  private socket?: Request;
  private timer?: Subscription;
  private isClosed = false;
  private nextId = 0;
  private released?: Promise<void>;
  private readonly emitExtra = (event: TExtra): void => this.emit(event);

  constructor(
    private readonly settings: RetryingRequestSettings,
    private readonly policy: RetryPolicy<TTarget, TExtra, TError>,
  ) {
    this.events$ = this.events.asObservable();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Queues a request when subscribed; see the family clients' `request` for the contract. */
  request(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Observable<Buffer[]> {
    const frames: readonly MessageLike[] = Array.isArray(body) ? [...(body as readonly MessageLike[])] : [body as MessageLike];
    // Validated here, so a bad option throws at the call rather than inside a subscription.
    const resolved = resolveRequestOptions(options, { timeout: this.settings.timeout, retries: this.settings.retries });
    return new Observable<Buffer[]>((subscriber) => {
      if (this.isClosed) {
        subscriber.error(this.policy.error("closed", "client is closed"));
        return undefined;
      }
      const job: Job = {
        id: ++this.nextId,
        frames,
        subscriber,
        timeout: resolved.timeout,
        retries: resolved.retries,
        attempt: 0,
        done: false,
        release: () => undefined,
      };
      if (resolved.signal?.aborted) {
        this.aborted(job);
        return undefined;
      }
      job.release = onAbort(resolved.signal, () => this.aborted(job));
      this.jobs.push(job);
      this.pump();
      return () => this.abandon(job);
    });
  }

  /** {@link request} as a Promise of the reply's frames. */
  call(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Promise<Buffer[]> {
    return firstValueFrom(this.request(body, options));
  }

  /** Drops the socket, fails pending requests with "closed"; resolves after the `close` event. Idempotent. */
  close(): Promise<void> {
    if (this.released) return this.released;
    this.isClosed = true;
    this.timer?.unsubscribe();
    const socket = this.socket;
    this.dropSocket();
    const failed = this.current ? [this.current, ...this.jobs] : [...this.jobs];
    this.current = undefined;
    this.jobs.length = 0;
    for (const job of failed) this.fail(job, this.policy.error("closed", "client was closed before the reply arrived"));
    this.released = (socket ? socketReleased(socket) : Promise.resolve()).then(() => {
      this.emit({ type: "close" });
      this.events.complete();
    });
    return this.released;
  }

  private pump(): void {
    if (this.current || this.isClosed) return;
    const job = this.jobs.shift();
    if (!job) return;
    this.current = job;
    this.send(job);
  }

  private send(job: Job): void {
    // A resend may have been scheduled before the request was settled some other way.
    if (this.current !== job || job.done || this.isClosed) return;
    job.attempt += 1;
    const target = this.policy.sending(this.attemptOf(job));
    let socket: Request;
    try {
      socket = this.openSocket();
    } catch (error) {
      // Options the socket refuses (a malformed key, say) fail the request rather than escape from a timer.
      this.fail(job, this.policy.error("socket", "could not open a socket", { cause: error }));
      this.pump();
      return;
    }
    socket.send(job.frames).catch((error: unknown) => {
      if (socket === this.socket) this.fail(job, this.policy.error("socket", "could not send the request", { cause: error }));
    });
    this.emit({ type: "request-sent", request: job.id, ...target, attempt: job.attempt });
    this.timer = this.settings.scheduler.schedule(() => this.timedOut(job), job.timeout);
    socket.receive().then(
      (reply) => {
        if (socket !== this.socket || this.current !== job || job.done) return;
        this.timer?.unsubscribe();
        this.emit({ type: "reply", request: job.id, ...target, attempt: job.attempt });
        job.done = true;
        job.release();
        this.current = undefined;
        job.subscriber.next(reply);
        job.subscriber.complete();
        this.pump();
      },
      // The socket was replaced or closed; whoever did that has settled the job.
      () => undefined,
    );
  }

  private timedOut(job: Job): void {
    if (this.current !== job || job.done) return;
    // A REQ socket waiting for a lost reply is wedged; only a fresh socket can send again.
    this.dropSocket();
    const attempt = this.attemptOf(job);
    this.policy.timedOut?.(attempt, this.emitExtra);
    if (attempt.retriesLeft <= 0) {
      const error = this.policy.error("timeout", this.policy.exhaustedMessage(job.attempt, job.timeout));
      this.emit({ type: "gave-up", request: job.id, attempts: job.attempt, error });
      this.fail(job, error);
      this.pump();
      return;
    }
    const delay = this.policy.retry(attempt, this.emitExtra);
    if (delay === undefined) this.send(job);
    else this.timer = this.settings.scheduler.schedule(() => this.send(job), delay);
  }

  private abandon(job: Job): void {
    if (job.done) return;
    job.done = true;
    job.release();
    if (this.current !== job) {
      const at = this.jobs.indexOf(job);
      if (at >= 0) this.jobs.splice(at, 1);
      return;
    }
    this.emit({ type: "abandoned", request: job.id, attempt: job.attempt });
    this.timer?.unsubscribe();
    this.dropSocket();
    this.current = undefined;
    this.pump();
  }

  /** The caller's signal fired: fail now, cancel a pending resend, and free the socket if the request held it. */
  private aborted(job: Job): void {
    if (job.done) return;
    const wasCurrent = this.current === job;
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
    this.emit({ type: "aborted", request: job.id, attempt: job.attempt });
    // fail() drops the socket of a request in flight: its REQ waits for a reply that no one wants.
    this.fail(job, this.policy.error("aborted", `request ${job.id} was aborted`));
    if (wasCurrent) this.pump();
  }

  private fail(job: Job, error: TError): void {
    if (job.done) return;
    job.done = true;
    job.release();
    if (this.current === job) {
      this.timer?.unsubscribe();
      this.current = undefined;
      this.dropSocket();
    }
    job.subscriber.error(error);
  }

  private attemptOf(job: Job): Attempt {
    return { request: job.id, attempt: job.attempt, retriesLeft: job.retries + 1 - job.attempt };
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

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.close();
  }

  private emit(event: RetryingRequestEvent<TTarget, TError> | TExtra): void {
    this.settings.logger.debug(event, event.type);
    this.events.next(event);
  }
}
