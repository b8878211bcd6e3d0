import { asyncScheduler, firstValueFrom, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { Request, type MessageLike } from "../../src";
import { componentLogger } from "../../src";
import { PirateError } from "./errors";
import type { LazyPirateEvent } from "./events";
import { nonNegative, positive } from "./validate";
import { onAbort, resolveRequestOptions, type RequestOptions } from "../shared/request-options";
import { socketReleased } from "../shared/released";

/** Options of a {@link LazyPirateClient}. */
export interface LazyPirateClientOptions {
  /** ms to wait for each reply before giving up on that attempt. Default 2500 (the zguide's REQUEST_TIMEOUT). */
  timeout?: number;
  /**
   * How many times a timed-out request is sent again, each time on a fresh
   * socket; `retries: 3` means up to 4 attempts. Default 3.
   */
  retries?: number;
  /** Parent logger. Default: silent. */
  logger?: Logger;
  /** Scheduler for the reply timeouts; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
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
 * The zguide's Lazy Pirate client: request-reply over REQ that survives a
 * lost request or reply. Each attempt waits `timeout` ms; when it expires
 * the REQ socket (stuck waiting for a reply that will never come) is closed
 * with linger 0 and a fresh one connected, and the request is sent again,
 * up to `retries` times. Requests are served one at a time in call order,
 * as REQ demands. A request that was processed but whose reply was lost is
 * processed again: servers should be idempotent.
 *
 * @example
 * ```ts
 * const client = new LazyPirateClient("tcp://127.0.0.1:5555", { timeout: 1000, retries: 2 });
 * client.request("hello").subscribe({ next: ([reply]) => use(reply), error: (e: PirateError) => warn(e.code) });
 * const [reply] = await client.call("again", { timeout: 500, signal: AbortSignal.timeout(5000) });
 * await client.close();
 * ```
 */
export class LazyPirateClient {
  /**
   * What the client does, as a typed stream; completes after `{ type: "close" }`.
   * Hot: events are not replayed, so subscribe before the first request.
   */
  readonly events$: Observable<LazyPirateEvent>;
  readonly endpoints: readonly string[];
  readonly timeout: number;
  readonly retries: number;

  private readonly events = new Subject<LazyPirateEvent>();
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly jobs: Job[] = [];
  private current?: Job;
  private socket?: Request;
  private sockets = 0;
  private timer?: Subscription;
  private isClosed = false;
  private nextId = 0;
  private released?: Promise<void>;

  constructor(endpoints: string | readonly string[], options: LazyPirateClientOptions = {}) {
    this.endpoints = typeof endpoints === "string" ? [endpoints] : [...endpoints];
    if (this.endpoints.length === 0) throw new PirateError("invalid", "a Lazy Pirate client needs at least one endpoint");
    this.timeout = positive("timeout", options.timeout ?? 2500);
    this.retries = nonNegative("retries", options.retries ?? 3);
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = componentLogger("lazy-pirate-client", { endpoints: this.endpoints }, options.logger);
    this.events$ = this.events.asObservable();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends a request when subscribed. Emits the reply's frames once and
   * completes, or errors with a {@link PirateError} whose `reason` is
   * "timeout" after every attempt timed out, "aborted" when `options.signal`
   * fired, or "closed" if the client was closed first. `options` override
   * the client's `timeout` and `retries` for this request. Unsubscribing
   * abandons the request (a request in flight costs the socket, which is
   * replaced).
   */
  request(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Observable<Buffer[]> {
    const frames: readonly MessageLike[] = Array.isArray(body) ? [...(body as readonly MessageLike[])] : [body as MessageLike];
    // Validated here, so a bad option throws at the call rather than inside a subscription.
    const settings = resolveRequestOptions(options, { timeout: this.timeout, retries: this.retries });
    return new Observable<Buffer[]>((subscriber) => {
      if (this.isClosed) {
        subscriber.error(new PirateError("closed", "client is closed"));
        return undefined;
      }
      const job: Job = {
        id: ++this.nextId,
        frames,
        subscriber,
        timeout: settings.timeout,
        retries: settings.retries,
        attempt: 0,
        done: false,
        release: () => undefined,
      };
      if (settings.signal?.aborted) {
        this.aborted(job);
        return undefined;
      }
      job.release = onAbort(settings.signal, () => this.aborted(job));
      this.jobs.push(job);
      this.pump();
      return () => this.abandon(job);
    });
  }

  /** {@link request} as a Promise of the reply's frames; rejects with the same errors. */
  call(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Promise<Buffer[]> {
    return firstValueFrom(this.request(body, options));
  }

  /**
   * Closes the socket (linger 0); pending requests fail with reason
   * "closed". Resolves once the socket is released; the `close` event comes
   * just before. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.released) return this.released;
    this.isClosed = true;
    this.timer?.unsubscribe();
    const socket = this.socket;
    this.dropSocket();
    const failed = this.current ? [this.current, ...this.jobs] : [...this.jobs];
    this.current = undefined;
    this.jobs.length = 0;
    for (const job of failed) this.fail(job, new PirateError("closed", "client was closed before the reply arrived"));
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
    job.attempt += 1;
    const socket = this.openSocket();
    socket.send(job.frames).catch((error: unknown) => {
      if (socket === this.socket) this.fail(job, new PirateError("socket", "could not send the request", { cause: error }));
    });
    this.emit({ type: "request-sent", request: job.id, attempt: job.attempt });
    this.timer = this.scheduler.schedule(() => this.timedOut(job), job.timeout);
    socket.receive().then(
      (reply) => {
        if (socket !== this.socket || this.current !== job || job.done) return;
        this.timer?.unsubscribe();
        this.emit({ type: "reply", request: job.id, attempt: job.attempt });
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
    const retriesLeft = job.retries + 1 - job.attempt;
    if (retriesLeft <= 0) {
      const error = new PirateError("timeout", `no reply after ${job.attempt} attempt(s) of ${job.timeout} ms`);
      this.emit({ type: "gave-up", request: job.id, attempts: job.attempt, error });
      this.current = undefined;
      this.fail(job, error);
      this.pump();
      return;
    }
    this.emit({ type: "retry", request: job.id, attempt: job.attempt, retriesLeft });
    this.send(job);
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

  /** The caller's signal fired: fail now, cancel the pending retry, and free the socket if the request held it. */
  private aborted(job: Job): void {
    if (job.done) return;
    const wasCurrent = this.current === job;
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
    this.emit({ type: "aborted", request: job.id, attempt: job.attempt });
    // fail() drops the socket of a request in flight: its REQ waits for a reply that no one wants.
    this.fail(job, new PirateError("aborted", `request ${job.id} was aborted`));
    if (wasCurrent) this.pump();
  }

  private fail(job: Job, error: PirateError): void {
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

  private openSocket(): Request {
    if (this.socket) return this.socket;
    const socket = new Request({ linger: 0, logger: this.logger });
    for (const endpoint of this.endpoints) socket.connect(endpoint);
    this.socket = socket;
    this.sockets += 1;
    if (this.sockets > 1) this.emit({ type: "reconnect", endpoints: this.endpoints });
    return socket;
  }

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.close();
  }

  private emit(event: LazyPirateEvent): void {
    this.logger.debug(event, event.type);
    this.events.next(event);
  }
}
