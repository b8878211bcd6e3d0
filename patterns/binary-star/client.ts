import { asyncScheduler, firstValueFrom, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { componentLogger, Request, type MessageLike } from "../../src";
import { onAbort, resolveRequestOptions, type RequestOptions } from "../shared/request-options";
import { socketReleased } from "../shared/released";
import { BinaryStarError, integerAtLeast } from "./errors";
import type { BinaryStarClientEvent } from "./events";

/** Options of a {@link BinaryStarClient}. */
export interface BinaryStarClientOptions {
  /** ms to wait for each reply. Default 1000 (the guide's bstarcli REQUEST_TIMEOUT). */
  timeout?: number;
  /**
   * ms to wait after giving up on one server before sending to the other.
   * It gives the passive server time to see the active one as dead (its
   * peer window), so the resent request is the vote that makes it take over
   * instead of one it drops. Default 2000 (the guide's SETTLE_DELAY); keep
   * it at least the servers' peer window.
   */
  settleDelay?: number;
  /** Attempts at one server, each on a fresh socket, before failing over to the other. Default 1 (the guide's). */
  attemptsPerServer?: number;
  /**
   * Times a request is resent after a timeout, over both servers, before it
   * fails with reason "timeout". Default 5 (6 attempts: three rounds of the
   * pair). The guide's client never gives up.
   */
  retries?: number;
  /** Parent logger. Default: silent. */
  logger?: Logger;
  /** Scheduler for the timeouts and the settle delay; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

interface Job {
  readonly id: number;
  readonly frames: readonly MessageLike[];
  readonly subscriber: Subscriber<Buffer[]>;
  readonly timeout: number;
  readonly retries: number;
  attempt: number;
  atServer: number;
  done: boolean;
  release: () => void;
}

const SERVERS = ["primary", "backup"] as const;

/**
 * The Binary Star failover client (the guide's bstarcli): Lazy Pirate over
 * REQ, aimed at one server of a pair at a time. When a reply does not come
 * within `timeout`, the socket is dropped (linger 0); after `settleDelay` a
 * fresh one connects to the other server and the request is sent again.
 * The client stays with whichever server answered last. Requests are served
 * one at a time in call order; a request whose reply was lost is processed
 * again, so servers should be idempotent.
 *
 * @example
 * ```ts
 * const client = new BinaryStarClient(["tcp://10.0.0.1:5001", "tcp://10.0.0.2:5002"]);
 * const [reply] = await client.call("hello");
 * await client.close();
 * ```
 */
export class BinaryStarClient {
  /** What the client does, as a typed stream; completes after `{ type: "close" }`. */
  readonly events$: Observable<BinaryStarClientEvent>;
  /** The primary's frontend, then the backup's. */
  readonly endpoints: readonly [string, string];
  /** ms to wait for each reply (default for every request). */
  readonly timeout: number;
  /** ms between giving up on one server and sending to the other. */
  readonly settleDelay: number;
  /** Attempts at one server before failing over. */
  readonly attemptsPerServer: number;
  /** Re-sends per request before it fails (default for every request). */
  readonly retries: number;

  private readonly events = new Subject<BinaryStarClientEvent>();
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly jobs: Job[] = [];
  private current?: Job;
  private socket?: Request;
  private timer?: Subscription;
  private server: 0 | 1 = 0;
  private nextId = 0;
  private isClosed = false;
  private released?: Promise<void>;

  /** `endpoints`: the primary's frontend, then the backup's. The first request goes to the primary. */
  constructor(endpoints: readonly [string, string], options: BinaryStarClientOptions = {}) {
    if (!Array.isArray(endpoints) || endpoints.length !== 2 || endpoints.some((e) => typeof e !== "string" || e === "")) {
      throw new BinaryStarError("invalid", "a Binary Star client needs exactly two endpoints: [primary, backup]");
    }
    this.endpoints = [endpoints[0], endpoints[1]];
    this.timeout = integerAtLeast("timeout", options.timeout ?? 1000, 1);
    this.settleDelay = integerAtLeast("settleDelay", options.settleDelay ?? 2000, 0);
    this.attemptsPerServer = integerAtLeast("attemptsPerServer", options.attemptsPerServer ?? 1, 1);
    this.retries = integerAtLeast("retries", options.retries ?? 5, 0);
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = componentLogger("binary-star-client", { endpoints: this.endpoints }, options.logger);
    this.events$ = this.events.asObservable();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The server the next request goes to: the one that answered last. */
  get currentServer(): "primary" | "backup" {
    return SERVERS[this.server];
  }

  /**
   * Sends a request when subscribed. Emits the reply's frames once and
   * completes, or errors with a {@link BinaryStarError}: reason "timeout"
   * after `retries + 1` silent attempts, "aborted" when `options.signal`
   * fired, "closed" if the client was closed first. `options` override the
   * client's `timeout` and `retries` for this request. Unsubscribing
   * abandons the request.
   */
  request(body: MessageLike | readonly MessageLike[], options?: RequestOptions): Observable<Buffer[]> {
    const frames: readonly MessageLike[] = Array.isArray(body) ? [...(body as readonly MessageLike[])] : [body as MessageLike];
    // Validated here, so a bad option throws at the call rather than inside a subscription.
    const settings = resolveRequestOptions(options, { timeout: this.timeout, retries: this.retries });
    return new Observable<Buffer[]>((subscriber) => {
      if (this.isClosed) {
        subscriber.error(new BinaryStarError("closed", "client is closed"));
        return undefined;
      }
      const job: Job = {
        id: ++this.nextId,
        frames,
        subscriber,
        timeout: settings.timeout,
        retries: settings.retries,
        attempt: 0,
        atServer: 0,
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
   * "closed". Resolves once the socket is released, just after the `close`
   * event. Calling it again returns the same promise.
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
    for (const job of failed) this.fail(job, new BinaryStarError("closed", "client was closed before the reply arrived"));
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
    if (this.current !== job || job.done || this.isClosed) return;
    job.attempt += 1;
    job.atServer += 1;
    const server = SERVERS[this.server];
    const endpoint = this.endpoints[this.server];
    // A REQ that lost its reply is stuck waiting, so a timeout drops it and the next attempt opens a fresh one,
    // connected to one server only; after a reply the socket is kept for the next request.
    let socket = this.socket;
    if (!socket) {
      socket = new Request({ linger: 0, logger: this.logger });
      socket.connect(endpoint);
      this.socket = socket;
    }
    const sending = socket;
    sending.send(job.frames).catch((error: unknown) => {
      if (sending === this.socket) this.fail(job, new BinaryStarError("socket", "could not send the request", { cause: error }));
    });
    this.emit({ type: "request-sent", request: job.id, server, endpoint, attempt: job.attempt });
    this.timer = this.scheduler.schedule(() => this.timedOut(job), job.timeout);
    sending.receive().then(
      (reply) => {
        if (sending !== this.socket || this.current !== job || job.done) return;
        this.timer?.unsubscribe();
        this.emit({ type: "reply", request: job.id, server, endpoint, attempt: job.attempt });
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
    this.dropSocket();
    const server = SERVERS[this.server];
    this.emit({ type: "timeout", request: job.id, server, endpoint: this.endpoints[this.server], attempt: job.attempt });
    if (job.attempt > job.retries) {
      const error = new BinaryStarError("timeout", `no reply from either server after ${job.attempt} attempt(s) of ${job.timeout} ms`);
      this.emit({ type: "gave-up", request: job.id, attempts: job.attempt, error });
      this.fail(job, error);
      this.pump();
      return;
    }
    if (job.atServer < this.attemptsPerServer) {
      this.send(job);
      return;
    }
    job.atServer = 0;
    this.server = this.server === 0 ? 1 : 0;
    const to = SERVERS[this.server];
    this.emit({ type: "failover", request: job.id, from: server, to, endpoint: this.endpoints[this.server], settleDelay: this.settleDelay });
    this.timer = this.scheduler.schedule(() => this.send(job), this.settleDelay);
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
    this.fail(job, new BinaryStarError("aborted", `request ${job.id} was aborted`));
    if (wasCurrent) this.pump();
  }

  private fail(job: Job, error: BinaryStarError): void {
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

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.close();
  }

  private emit(event: BinaryStarClientEvent): void {
    this.logger.debug(event, event.type);
    this.events.next(event);
  }
}
