import { asyncScheduler, firstValueFrom, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { Request, type MessageLike } from "../../src";
import { componentLogger } from "../../src";
import { PirateError } from "./errors";
import type { LazyPirateEvent } from "./events";
import { nonNegative, positive } from "./validate";

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
  readonly frames: readonly MessageLike[];
  readonly subscriber: Subscriber<Buffer[]>;
  attempt: number;
  done: boolean;
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
 * const [reply] = await client.call("again");
 * client.close();
 * ```
 */
export class LazyPirateClient {
  /** What the client does, as a typed stream; completes after `{ type: "closed" }`. */
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

  constructor(endpoints: string | readonly string[], options: LazyPirateClientOptions = {}) {
    this.endpoints = typeof endpoints === "string" ? [endpoints] : [...endpoints];
    if (this.endpoints.length === 0) throw new PirateError("EINVAL", "a Lazy Pirate client needs at least one endpoint");
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
   * completes, or errors with a {@link PirateError}: `ETIMEDOUT` after every
   * attempt timed out, `ECLOSED` if the client was closed first.
   * Unsubscribing abandons the request (a request in flight costs the
   * socket, which is replaced).
   */
  request(body: MessageLike | readonly MessageLike[]): Observable<Buffer[]> {
    const frames: readonly MessageLike[] = Array.isArray(body) ? [...(body as readonly MessageLike[])] : [body as MessageLike];
    return new Observable<Buffer[]>((subscriber) => {
      if (this.isClosed) {
        subscriber.error(new PirateError("ECLOSED", "client is closed"));
        return undefined;
      }
      const job: Job = { frames, subscriber, attempt: 0, done: false };
      this.jobs.push(job);
      this.pump();
      return () => this.abandon(job);
    });
  }

  /** {@link request} as a Promise. */
  call(body: MessageLike | readonly MessageLike[]): Promise<Buffer[]> {
    return firstValueFrom(this.request(body));
  }

  /** Closes the socket (linger 0); pending requests fail with `ECLOSED`. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.timer?.unsubscribe();
    this.dropSocket();
    const failed = this.current ? [this.current, ...this.jobs] : [...this.jobs];
    this.current = undefined;
    this.jobs.length = 0;
    for (const job of failed) this.fail(job, new PirateError("ECLOSED", "client was closed before the reply arrived"));
    this.emit({ type: "closed" });
    this.events.complete();
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
      if (socket === this.socket) this.fail(job, new PirateError("ESOCKET", "could not send the request", { cause: error }));
    });
    this.emit({ type: "request-sent", attempt: job.attempt });
    this.timer = this.scheduler.schedule(() => this.timedOut(job), this.timeout);
    socket.receive().then(
      (reply) => {
        if (socket !== this.socket || this.current !== job || job.done) return;
        this.timer?.unsubscribe();
        this.emit({ type: "reply", attempt: job.attempt });
        job.done = true;
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
    const retriesLeft = this.retries + 1 - job.attempt;
    if (retriesLeft <= 0) {
      const error = new PirateError("ETIMEDOUT", `no reply after ${job.attempt} attempt(s) of ${this.timeout} ms`);
      this.emit({ type: "gave-up", attempts: job.attempt, error });
      this.current = undefined;
      this.fail(job, error);
      this.pump();
      return;
    }
    this.emit({ type: "retry", attempt: job.attempt, retriesLeft });
    this.send(job);
  }

  private abandon(job: Job): void {
    if (job.done) return;
    job.done = true;
    if (this.current !== job) {
      const at = this.jobs.indexOf(job);
      if (at >= 0) this.jobs.splice(at, 1);
      return;
    }
    this.emit({ type: "abandoned", attempt: job.attempt });
    this.timer?.unsubscribe();
    this.dropSocket();
    this.current = undefined;
    this.pump();
  }

  private fail(job: Job, error: PirateError): void {
    if (job.done) return;
    job.done = true;
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
