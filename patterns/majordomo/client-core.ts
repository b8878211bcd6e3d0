import { randomBytes } from "node:crypto";
import { Queue } from "../../src/util/queue";
import { Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { MajordomoError } from "./errors";
import type { MajordomoClientEvent } from "./events";
import { toFrames, type Body } from "./frames";
import type { LinkFactory, MdpLink } from "./link";
import { decodeClientCommand, encodeClientCommand, type MdpVersion } from "./protocol";
import { errorFromReply } from "./status";
import { checkRequestId, takeRequestId, withRequestId, type MajordomoRequestOptions } from "./request-ids";
import { onAbort, resolveRequestOptions } from "../shared/request-options";
import { PrivateerError } from "../../src";

/** Settings shared by both clients. */
export interface ClientCoreSettings {
  readonly version: MdpVersion;
  readonly timeout: number;
  readonly retries: number;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly linkFactory: LinkFactory;
  /**
   * The brokers to take in turn, one per fresh link: a timeout sends the
   * retry to the next one, so a client of a broker pair follows the active
   * broker. Empty: the factory decides (it is called with no endpoint).
   */
  readonly endpoints: readonly string[];
  /**
   * "single": one request at a time on the socket (REQ-like). "service": one
   * request at a time per service with a plain broker, whose replies carry
   * only the service name (two requests to one service in flight on one
   * socket could not be told apart); with a broker that echoes request ids,
   * up to `maxInFlight` at once.
   */
  readonly lanes: "single" | "service";
  /**
   * With "service" lanes and a broker that speaks the request-id extension,
   * replies are matched by id, so lanes no longer serialise: up to this many
   * requests (over all services) are in flight at once, the rest wait in
   * call order. Ignored otherwise.
   */
  readonly maxInFlight: number;
}

/** The requests of one lane: those waiting their turn (call order) and those sent. */
interface Lane {
  readonly waiting: Queue<Job>;
  readonly active: Set<Job>;
}

interface Job {
  /** The client-local request number carried by this request's events and log lines. */
  readonly id: number;
  /**
   * The id a broker speaking the request-id extension sees: unique per
   * client (a random client id and the request number), and the same on
   * every retry and failover, so the broker and worker can tell a retry.
   */
  readonly requestId: string;
  readonly service: string;
  readonly body: Buffer[];
  readonly lane: string;
  readonly subscriber: Subscriber<Buffer[]>;
  readonly timeout: number;
  readonly retries: number;
  attempts: number;
  active: boolean;
  done: boolean;
  timer?: Subscription;
  /** Stops listening to the request's AbortSignal. */
  release: () => void;
}

/**
 * Request bookkeeping for both clients: lanes of waiting requests, a timer
 * per request in flight, and Lazy Pirate recovery. A reply with an id is
 * matched to the request with that id; one without (a plain broker) to the
 * one request in flight in its lane. Whenever a reply can no longer be
 * trusted to belong to that request (a timeout, or, without ids, a request
 * abandoned mid-flight), the socket is replaced and the requests still in flight are
 * resent on the new one, so a late reply can never be taken for another
 * request's.
 */
export class ClientCore {
  /** What the client does; completes after `{ type: "close" }`. */
  readonly events$: Observable<MajordomoClientEvent>;

  private readonly events = new Subject<MajordomoClientEvent>();
  private readonly lanes = new Map<string, Lane>();
  /** Every request in flight, by request id: how a reply carrying an id finds its request. */
  private readonly inFlight = new Map<string, Job>();
  private link?: MdpLink;
  private linkSubscriptions: Subscription[] = [];
  private generation = 0;
  private sockets = 0;
  /** Why the current link was dropped, reported when its replacement opens. */
  private replacedBecause?: "timeout" | "abandoned" | "aborted";
  private closed = false;
  private nextId = 0;
  private released?: Promise<void>;
  /** 64 random bits: request ids of two clients never meet, even across processes. */
  private readonly clientId = randomBytes(8).toString("hex");
  /** The request ids of the requests not yet settled (waiting or in flight), so a caller's id cannot be used twice at once. */
  private readonly liveIds = new Set<string>();
  /**
   * Whether the current link's broker is known: until its handshake says
   * whether it speaks the request-id extension, requests wait in `held`
   * (a DEALER would queue them until then anyway, so this costs nothing).
   */
  private linkReady = false;
  private linkIds = false;
  private held: Job[] = [];

  constructor(private readonly settings: ClientCoreSettings) {
    this.events$ = this.events.asObservable();
  }

  request(service: string, body: Body, options?: MajordomoRequestOptions): Observable<Buffer[]> {
    // Validated here, so a bad option throws at the call rather than inside a subscription.
    const settings = resolveRequestOptions(options, this.settings);
    const givenId = options?.id === undefined ? undefined : checkRequestId(options.id);
    return new Observable<Buffer[]>((subscriber) => {
      if (this.closed) {
        subscriber.error(new MajordomoError("closed", "client is closed"));
        return undefined;
      }
      let frames: Buffer[];
      try {
        frames = toFrames(body);
      } catch (error) {
        subscriber.error(error);
        return undefined;
      }
      if (givenId !== undefined && this.liveIds.has(givenId)) {
        // Two requests under one id would share one reply at the broker and one record in the worker's store.
        subscriber.error(new PrivateerError("EINVAL", `request id "${givenId}" is already in use by a request of this client`));
        return undefined;
      }
      const lane = this.settings.lanes === "single" ? "" : service;
      const job: Job = {
        id: ++this.nextId,
        requestId: givenId ?? `${this.clientId}-${this.nextId}`,
        service,
        body: frames,
        lane,
        subscriber,
        timeout: settings.timeout,
        retries: settings.retries,
        attempts: 0,
        active: false,
        done: false,
        release: () => undefined,
      };
      if (settings.signal?.aborted) {
        this.aborted(job);
        return undefined;
      }
      job.release = onAbort(settings.signal, () => this.aborted(job));
      let queue = this.lanes.get(lane);
      if (!queue) {
        queue = { waiting: new Queue<Job>(), active: new Set<Job>() };
        this.lanes.set(lane, queue);
      }
      this.liveIds.add(job.requestId);
      queue.waiting.push(job);
      this.pumpLane(queue);
      return () => this.abandon(job);
    });
  }

  /** Fails what is pending, closes the socket; resolves once it is released, right after the `close` event. */
  close(): Promise<void> {
    if (this.released) return this.released;
    this.closed = true;
    const jobs = [...this.lanes.values()].flatMap((lane) => [...lane.active, ...lane.waiting]);
    this.lanes.clear();
    this.inFlight.clear();
    for (const job of jobs) this.finish(job, new MajordomoError("closed", "client was closed"));
    this.released = Promise.resolve(this.dropLink()).then(() => {
      this.emit({ type: "close" });
      this.events.complete();
    });
    return this.released;
  }

  /**
   * Whether replies on the current link are matched by id: then a late
   * reply to a request that was given up is dropped (no request has its
   * id), and the socket need not be replaced to keep it from another.
   */
  private idsMatched(): boolean {
    return this.link !== undefined && this.linkReady && this.linkIds;
  }

  /** Whether every request may be in flight at once: the link's broker matches replies to requests by id. */
  private pipelining(): boolean {
    return this.settings.lanes === "service" && this.idsMatched();
  }

  /** Starts what a lane may start now: every waiting request up to `maxInFlight` when pipelining, else its head once the lane is idle. */
  private pumpLane(lane: Lane): void {
    if (this.closed) return;
    if (this.pipelining()) {
      while (lane.waiting.length > 0 && this.inFlight.size < this.settings.maxInFlight) this.start(lane.waiting.shift()!);
    } else if (lane.active.size === 0 && lane.waiting.length > 0) {
      this.start(lane.waiting.shift()!);
    }
  }

  /** A request left, or the link learnt it may pipeline: any lane may have room now (`maxInFlight` is over all lanes). */
  private pump(): void {
    for (const lane of this.lanes.values()) this.pumpLane(lane);
  }

  private start(job: Job): void {
    job.active = true;
    this.lanes.get(job.lane)?.active.add(job);
    this.inFlight.set(job.requestId, job);
    job.attempts += 1;
    this.transmit(job);
    this.arm(job);
  }

  private transmit(job: Job): void {
    const link = this.ensureLink();
    if (!this.linkReady) {
      this.held.push(job);
      return;
    }
    this.sendOn(link, job);
  }

  private sendOn(link: MdpLink, job: Job): void {
    // A plain broker would take the id frames for body, so they go only to one that announced the extension.
    const body = this.linkIds ? withRequestId(job.requestId, job.body) : job.body;
    link.send(encodeClientCommand(this.settings.version, { type: "request", service: job.service, body }));
    this.emit({ type: "request-sent", request: job.id, service: job.service, attempt: job.attempts, socket: this.sockets });
  }

  private arm(job: Job): void {
    job.timer?.unsubscribe();
    job.timer = this.settings.scheduler.schedule(() => this.onTimeout(job), job.timeout);
  }

  private onTimeout(job: Job): void {
    if (job.done) return;
    this.emit({ type: "timeout", request: job.id, service: job.service, attempt: job.attempts });
    const giveUp = job.attempts > job.retries;
    if (giveUp) {
      this.remove(job);
      this.emit({ type: "gave-up", request: job.id, service: job.service, attempts: job.attempts });
      this.finish(
        job,
        new MajordomoError("timeout", `no reply from "${job.service}" after ${job.attempts} attempt(s)`),
      );
    } else {
      // Counted before the resend, so the resend reports the attempt it is.
      job.attempts += 1;
      this.emit({ type: "retry", request: job.id, service: job.service, attempt: job.attempts });
    }
    this.replaceLink("timeout");
    if (!giveUp) this.arm(job);
    else this.pump();
  }

  private abandon(job: Job): void {
    if (job.done) return;
    job.done = true;
    this.liveIds.delete(job.requestId);
    job.timer?.unsubscribe();
    job.release();
    const wasActive = job.active;
    this.remove(job);
    this.emit({ type: "abandoned", request: job.id, service: job.service });
    if (wasActive && !this.closed) {
      if (!this.idsMatched()) this.replaceLink("abandoned");
      this.pump();
    }
  }

  /** The caller's signal fired: fail the request now; no retry follows, and its socket is replaced if it was in flight. */
  private aborted(job: Job): void {
    if (job.done) return;
    const wasActive = job.active;
    this.remove(job);
    this.emit({ type: "aborted", request: job.id, service: job.service });
    this.finish(job, new MajordomoError("aborted", `request ${job.id} to "${job.service}" was aborted`));
    if (wasActive && !this.closed) {
      if (!this.idsMatched()) this.replaceLink("aborted");
      this.pump();
    }
  }

  private onMessage(frames: Buffer[], generation: number): void {
    if (generation !== this.generation) return;
    let service: string;
    let type: "partial" | "final";
    let body: Buffer[];
    try {
      const decoded = decodeClientCommand(frames, "reply");
      if (decoded.command.type === "request") throw new Error("request sent to a client");
      ({ service, type, body } = { service: decoded.command.service, type: decoded.command.type, body: decoded.command.body });
    } catch (error) {
      this.settings.logger.debug({ err: error }, "dropping invalid reply");
      return;
    }
    let replyId: string | undefined;
    if (this.linkIds) ({ id: replyId, body } = takeRequestId(body));
    const job = this.matchReply(service, replyId);
    if (!job) {
      this.settings.logger.debug({ service }, "dropping reply nobody waits for");
      return;
    }
    const failure = errorFromReply(service, body);
    if (failure) {
      this.remove(job);
      this.emit({ type: "error-reply", request: job.id, service, error: failure });
      this.finish(job, failure);
      this.pump();
      return;
    }
    this.emit({ type: "reply", request: job.id, service, attempt: job.attempts, final: type === "final" });
    job.subscriber.next(body);
    if (type === "partial") {
      this.arm(job);
      return;
    }
    this.remove(job);
    this.finish(job);
    this.pump();
  }

  /**
   * The request a reply answers: the one with the reply's id, or, for a
   * reply without one (a plain broker), the one request in flight in the
   * service's lane. Undefined when no request waits for it, or when the
   * reply could belong to several.
   */
  private matchReply(service: string, replyId: string | undefined): Job | undefined {
    if (replyId !== undefined) {
      const job = this.inFlight.get(replyId);
      return job?.service === service ? job : undefined;
    }
    const lane = this.lanes.get(this.settings.lanes === "single" ? "" : service);
    if (!lane || lane.active.size !== 1) return undefined;
    const [job] = lane.active;
    return job?.service === service ? job : undefined;
  }

  private finish(job: Job, error?: Error): void {
    job.done = true;
    this.liveIds.delete(job.requestId);
    job.timer?.unsubscribe();
    job.release();
    if (error) job.subscriber.error(error);
    else job.subscriber.complete();
  }

  private remove(job: Job): void {
    const lane = this.lanes.get(job.lane);
    if (job.active) {
      job.active = false;
      this.inFlight.delete(job.requestId);
      lane?.active.delete(job);
    } else {
      lane?.waiting.removeWhere((waiting) => waiting === job);
    }
    if (lane && lane.active.size === 0 && lane.waiting.length === 0) this.lanes.delete(job.lane);
  }

  /** Lazy Pirate: a fresh socket, and every request still in flight sent again on it. */
  private replaceLink(cause: "timeout" | "abandoned" | "aborted"): void {
    this.dropLink();
    if (this.closed) return;
    this.replacedBecause = cause;
    // Each keeps its id, so a broker that already has it joins the resend to the original.
    for (const job of this.inFlight.values()) this.transmit(job);
  }

  private ensureLink(): MdpLink {
    if (this.link) return this.link;
    const generation = ++this.generation;
    const socket = ++this.sockets;
    const { endpoints } = this.settings;
    // Socket n goes to endpoint n-1 in turn: the first to the first broker, each replacement to the next.
    const link = this.settings.linkFactory(endpoints.length > 0 ? endpoints[(socket - 1) % endpoints.length] : undefined);
    this.link = link;
    if (this.replacedBecause) {
      this.emit({ type: "reconnected", socket, cause: this.replacedBecause });
      this.replacedBecause = undefined;
    }
    // A link that does not announce the extension (a custom transport) is taken as it is: plain MDP at once.
    this.linkReady = !(link.announcesIds && link.events$);
    this.linkIds = false;
    this.held = [];
    this.linkSubscriptions.push(link.messages$.subscribe((frames) => this.onMessage(frames, generation)));
    if (link.events$) {
      this.linkSubscriptions.push(
        link.events$.subscribe((event) => {
          if (generation !== this.generation) return;
          // A failed connection attempt is not reported: the request's timeout decides when to move on.
          if (event.type !== "unreachable") this.emit({ type: event.type, socket });
          if (event.type === "connected") this.onConnected(link, event.ids === true);
          // The DEALER reconnects on its own, maybe to a restarted broker that speaks no extension: wait to know.
          else if (event.type === "disconnected") this.linkReady = false;
        }),
      );
    }
    return link;
  }

  /** The broker is known: send what waited for its handshake, with ids if it speaks the extension. */
  private onConnected(link: MdpLink, ids: boolean): void {
    this.linkReady = true;
    this.linkIds = ids;
    const held = this.held.splice(0);
    if (!ids) this.unpipeline(held);
    for (const job of held) {
      if (job.active && !job.done) this.sendOn(link, job);
    }
    // A broker that speaks ids lets every waiting request out at once.
    if (ids) this.pump();
  }

  /**
   * The new link's broker speaks plain MDP, so its replies cannot be told
   * apart within a lane: of the requests in flight in each lane (pipelined
   * on an earlier link) the oldest stays in flight and the others go back
   * to the front of the lane, unsent, in call order.
   */
  private unpipeline(held: Job[]): void {
    for (const lane of this.lanes.values()) {
      if (lane.active.size <= 1) continue;
      const [, ...later] = [...lane.active].sort((a, b) => a.id - b.id);
      for (const job of later.reverse()) {
        job.active = false;
        job.timer?.unsubscribe();
        lane.active.delete(job);
        this.inFlight.delete(job.requestId);
        lane.waiting.unshift(job);
      }
    }
    for (let i = held.length - 1; i >= 0; i--) if (!held[i]!.active) held.splice(i, 1);
  }

  /** Closes the current link; the result settles once its socket is released (when the link can tell). */
  private dropLink(): void | Promise<void> {
    this.generation += 1;
    for (const subscription of this.linkSubscriptions.splice(0)) subscription.unsubscribe();
    const link = this.link;
    this.link = undefined;
    return link?.close();
  }

  private emit(event: MajordomoClientEvent): void {
    this.settings.logger.debug(event, event.type);
    this.events.next(event);
  }
}
