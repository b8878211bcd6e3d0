import { Subject, type Observable, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { Queue } from "../../src/util/queue";
import { onAbort } from "./request-options";

/**
 * What the core keeps about one request. A family's job type extends it
 * with what it sends (frames, service, request id); the family builds the
 * object, so one request costs one object however many layers handle it.
 */
export interface CoreJob {
  /** The client-local request number (1, 2, ... in call order) carried by the request's events and log lines. */
  readonly id: number;
  /** How a reply finds the request among those in flight: the request id for Majordomo, the number otherwise. */
  readonly key: string | number;
  /** Requests of one lane go out one at a time unless the carrier pipelines. */
  readonly lane: string;
  readonly subscriber: Subscriber<Buffer[]>;
  /** ms each attempt waits for its reply. */
  readonly timeout: number;
  /** Resends allowed after a timeout. */
  readonly retries: number;
  /** Attempts so far: 1 once the request is first sent, +1 per resend after a timeout. */
  attempts: number;
  /** In flight: sent (or about to be, or waiting out a retry delay) rather than waiting its turn. */
  active: boolean;
  done: boolean;
  /** The transport the request was last sent on ({@link RequestCore.transport}); a replacement resends it unless it is already there. */
  sentOn: number;
  /** The reply timeout, or the wait before a delayed resend. */
  timer?: Subscription;
  /** Stops listening to the request's AbortSignal. */
  release: () => void;
}

/** Why the core drops the socket or link: the caller's reply may be on its way and must not reach another request. */
export type ReplacementCause = "timeout" | "abandoned" | "aborted";

/**
 * What differs between the clients built on {@link RequestCore}: how an
 * attempt goes out (a REQ socket per attempt, an MDP link shared by the
 * requests in flight), whether replies are matched by id, and the family's
 * events and error class. Every hook that reports something emits through
 * {@link RequestCore.emit}.
 */
export interface RequestCarrier<TJob extends CoreJob, TError extends Error> {
  /**
   * Sends the current attempt of `job`, opening a socket or link if none is
   * open. May settle the job at once (through {@link RequestCore.fail}) when
   * nothing can be sent.
   */
  transmit(job: TJob): void;
  /**
   * Closes the socket or link the requests in flight were sent on; the
   * core then resends them on a fresh one. Returns what settles once the
   * socket is released, if the carrier can tell.
   */
  drop(cause?: ReplacementCause): void | Promise<void>;
  /** Whether every request of a lane may be in flight at once (replies are matched by id). */
  pipelining(): boolean;
  /**
   * Whether a late reply to a request given up on cannot reach another
   * request (replies are matched by id), so abandoning or aborting a request
   * in flight costs no socket.
   */
  idsMatched(): boolean;
  /** Reports that `job`'s attempt timed out; `giveUp` says whether it was the last. */
  timedOut(job: TJob, giveUp: boolean): void;
  /** Reports that `job` is given up after its last attempt timed out, and returns its error. */
  gaveUp(job: TJob): TError;
  /**
   * Reports that `job` is resent after a timeout (`job.attempts` is still
   * the attempt that timed out) and returns `undefined` to resend at once,
   * or the ms to wait first (only with one request in flight at a time).
   */
  retry(job: TJob): number | undefined;
  /** Reports that the caller unsubscribed from `job`; `wasActive` says whether it was in flight. */
  abandoned(job: TJob, wasActive: boolean): void;
  /** Reports that `job`'s AbortSignal fired and returns its error. */
  aborted(job: TJob): TError;
  /** The error of a request still pending when the client closes. */
  closedError(): TError;
  /** Called once when `job` settles, however it does (reply, error, abandon, close). */
  settled?(job: TJob): void;
}

/** The core's settings, validated by the family's constructor. */
export interface RequestCoreSettings {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** With a pipelining carrier, at most this many requests (over all lanes) are in flight at once. */
  readonly maxInFlight: number;
}

/** The requests of one lane: those waiting their turn (call order) and those sent. */
export interface Lane<TJob> {
  readonly waiting: Queue<TJob>;
  readonly active: Set<TJob>;
}

/**
 * The request engine every request/reply client of the patterns shares
 * (Lazy Pirate, Binary Star, both Majordomo clients): requests wait in
 * lanes in call order, each attempt in flight has a timer on the scheduler,
 * a timeout resends (up to the request's `retries`) or gives up, an
 * AbortSignal or an unsubscribe settles a request at once, and close fails
 * what is pending. Whenever a late reply could be taken for another
 * request's (a timeout; without ids, a request abandoned mid-flight) the
 * socket is dropped and the requests still in flight are resent on a fresh
 * one. Where an attempt goes and how a reply finds its job is the
 * {@link RequestCarrier}'s business.
 *
 * Order matters and is the same for every family: a request given up on
 * loses its socket before its subscriber hears the error, so a request made
 * from that error callback goes out on the fresh socket.
 */
export class RequestCore<TJob extends CoreJob, TEvent extends { readonly type: string }, TError extends Error> {
  /** Every event of the client; completes after `{ type: "close" }`. Hot: nothing is replayed. */
  readonly events$: Observable<TEvent>;
  /** The lanes with requests in them, by name. */
  readonly lanes = new Map<string, Lane<TJob>>();
  /** Every request in flight, by key, in the order they were first sent. */
  readonly inFlight = new Map<string | number, TJob>();
  /** Counts the sockets or links dropped: a job whose `sentOn` differs was sent on one that is gone. */
  transport = 0;

  private readonly events = new Subject<TEvent>();
  private nextNumber = 0;
  private isClosed = false;
  private released?: Promise<void>;
  private carrier!: RequestCarrier<TJob, TError>;

  constructor(private readonly settings: RequestCoreSettings) {
    this.events$ = this.events.asObservable();
  }

  /** Set once by the family's constructor: the carrier usually needs the core itself. */
  attach(carrier: RequestCarrier<TJob, TError>): void {
    this.carrier = carrier;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The number of the next request; call once per job built. */
  nextId(): number {
    return ++this.nextNumber;
  }

  /**
   * Queues a job built by the family in its Observable's subscribe function;
   * returns that Observable's teardown (unsubscribing abandons the job). A
   * signal that already fired fails the job before anything is sent.
   */
  submit(job: TJob, signal: AbortSignal | undefined): (() => void) | undefined {
    if (signal?.aborted) {
      this.aborted(job);
      return undefined;
    }
    job.release = onAbort(signal, () => this.aborted(job));
    let lane = this.lanes.get(job.lane);
    if (!lane) {
      lane = { waiting: new Queue<TJob>(), active: new Set<TJob>() };
      this.lanes.set(job.lane, lane);
    }
    lane.waiting.push(job);
    this.pumpLane(lane);
    return () => this.abandon(job);
  }

  /** Drops the socket, fails pending requests with the carrier's "closed" error; resolves after the `close` event. Idempotent. */
  close(): Promise<void> {
    if (this.released) return this.released;
    this.isClosed = true;
    const dropped = this.carrier.drop();
    const jobs: TJob[] = [];
    for (const lane of this.lanes.values()) jobs.push(...lane.active, ...lane.waiting);
    this.lanes.clear();
    this.inFlight.clear();
    for (const job of jobs) {
      job.active = false;
      this.finish(job, this.carrier.closedError());
    }
    this.released = Promise.resolve(dropped).then(() => {
      this.emit({ type: "close" } as TEvent);
      this.events.complete();
    });
    return this.released;
  }

  emit(event: TEvent): void {
    const fields: object = event;
    this.settings.logger.debug(fields, event.type);
    this.events.next(event);
  }

  /** A request left, or the carrier learnt it may pipeline: any lane may have room now (`maxInFlight` is over all lanes). */
  pump(): void {
    for (const lane of this.lanes.values()) this.pumpLane(lane);
  }

  /** (Re)starts `job`'s reply timer. */
  arm(job: TJob): void {
    job.timer?.unsubscribe();
    job.timer = this.settings.scheduler.schedule(() => this.timedOut(job), job.timeout);
  }

  /**
   * The request's answer has come: it leaves its lane and settles (with
   * `reply` as its last value, or with `error` for an error reply); the
   * next request starts. The socket stays: nothing more is on its way.
   */
  settle(job: TJob, error?: Error, reply?: Buffer[]): void {
    this.remove(job);
    this.finish(job, error, reply);
    this.pump();
  }

  /**
   * Fails `job` for a reason the carrier found (an error reply, a socket
   * that refused to open or send). Without ids its socket goes too, since
   * its reply may still come. Does not start the next request: the caller
   * decides when (see {@link pump}).
   */
  fail(job: TJob, error: TError | Error): void {
    if (job.done) return;
    const wasActive = this.remove(job);
    if (wasActive && !this.isClosed && !this.carrier.idsMatched()) this.dropTransport();
    this.finish(job, error);
    if (wasActive) this.resend();
  }

  /**
   * The carrier's new link cannot tell apart the replies of requests
   * pipelined on an earlier one: in each lane the oldest request stays in
   * flight and the others go back to the front, unsent, in call order.
   */
  serialiseLanes(): void {
    for (const lane of this.lanes.values()) {
      if (lane.active.size <= 1) continue;
      const [, ...later] = [...lane.active].sort((a, b) => a.id - b.id);
      for (const job of later.reverse()) {
        job.active = false;
        job.timer?.unsubscribe();
        lane.active.delete(job);
        this.inFlight.delete(job.key);
        lane.waiting.unshift(job);
      }
    }
  }

  /** Starts what a lane may start now: every waiting request up to `maxInFlight` when pipelining, else its head once the lane is idle. */
  private pumpLane(lane: Lane<TJob>): void {
    if (this.isClosed) return;
    if (this.carrier.pipelining()) {
      while (lane.waiting.length > 0 && this.inFlight.size < this.settings.maxInFlight) this.start(lane.waiting.shift()!);
    } else if (lane.active.size === 0 && lane.waiting.length > 0) {
      this.start(lane.waiting.shift()!);
    }
  }

  private start(job: TJob): void {
    job.active = true;
    this.lanes.get(job.lane)?.active.add(job);
    this.inFlight.set(job.key, job);
    this.send(job);
  }

  /** Sends `job`'s next attempt and starts its timer. */
  private send(job: TJob): void {
    job.attempts += 1;
    job.sentOn = this.transport;
    this.carrier.transmit(job);
    // transmit may have failed the job (a socket that would not open), or a listener closed the client.
    if (!job.done) this.arm(job);
  }

  private timedOut(job: TJob): void {
    if (job.done) return;
    const giveUp = job.attempts > job.retries;
    this.carrier.timedOut(job, giveUp);
    if (giveUp) {
      this.remove(job);
      const error = this.carrier.gaveUp(job);
      this.dropTransport("timeout");
      this.finish(job, error);
      this.resend();
      this.pump();
      return;
    }
    const delay = this.carrier.retry(job);
    this.dropTransport("timeout");
    if (delay === undefined) {
      // Resent with the others in flight, in the order they were first sent.
      job.attempts += 1;
      this.resend();
      this.arm(job);
      return;
    }
    // Kept out of the resend of the others; it goes once the delay is over.
    job.sentOn = this.transport;
    job.timer = this.settings.scheduler.schedule(() => {
      if (!job.done && job.active && !this.isClosed) this.send(job);
    }, delay);
  }

  private abandon(job: TJob): void {
    if (job.done) return;
    this.retire(job);
    const wasActive = this.remove(job);
    this.carrier.abandoned(job, wasActive);
    if (wasActive && !this.isClosed) {
      if (!this.carrier.idsMatched()) {
        this.dropTransport("abandoned");
        this.resend();
      }
      this.pump();
    }
  }

  /** The caller's signal fired: fail the request now; no retry follows, and its socket is replaced if it was in flight. */
  private aborted(job: TJob): void {
    if (job.done) return;
    const wasActive = this.remove(job);
    const error = this.carrier.aborted(job);
    const replace = wasActive && !this.isClosed && !this.carrier.idsMatched();
    if (replace) this.dropTransport("aborted");
    this.finish(job, error);
    if (replace) this.resend();
    if (wasActive && !this.isClosed) this.pump();
  }

  /** Settled before the subscriber hears, so an unsubscribe from its callback (firstValueFrom) is not an abandon. */
  private finish(job: TJob, error?: Error, reply?: Buffer[]): void {
    this.retire(job);
    if (error) {
      job.subscriber.error(error);
      return;
    }
    if (reply) job.subscriber.next(reply);
    job.subscriber.complete();
  }

  /** What settling a job does however it settles (answered, failed, abandoned): it is done, its timer and signal listener go. */
  private retire(job: TJob): void {
    job.done = true;
    this.carrier.settled?.(job);
    job.timer?.unsubscribe();
    job.release();
  }

  /** Takes `job` out of its lane (and out of flight); returns whether it was in flight. */
  private remove(job: TJob): boolean {
    const lane = this.lanes.get(job.lane);
    const wasActive = job.active;
    if (wasActive) {
      job.active = false;
      this.inFlight.delete(job.key);
      lane?.active.delete(job);
    } else {
      lane?.waiting.removeWhere((waiting) => waiting === job);
    }
    if (lane && lane.active.size === 0 && lane.waiting.length === 0) this.lanes.delete(job.lane);
    return wasActive;
  }

  /** `cause` undefined: the carrier failed the request itself, and reports that its own way. */
  private dropTransport(cause?: ReplacementCause): void {
    this.transport += 1;
    void this.carrier.drop(cause);
  }

  /** After the socket was dropped: every request still in flight goes again on the fresh one (unless it already went there). */
  private resend(): void {
    if (this.isClosed) return;
    for (const job of this.inFlight.values()) {
      if (job.sentOn === this.transport) continue;
      job.sentOn = this.transport;
      this.carrier.transmit(job);
    }
  }
}
