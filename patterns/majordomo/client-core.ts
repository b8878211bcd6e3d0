import { randomBytes } from "node:crypto";
import { Observable, type SchedulerLike, type Subscription } from "rxjs";
import type { Logger } from "pino";
import { PrivateerError } from "../../src";
import { resolveRequestOptions } from "../shared/request-options";
import { RequestCore, type CoreJob, type ReplacementCause, type RequestCarrier } from "../shared/request-core";
import { MajordomoError } from "./errors";
import type { MajordomoClientEvent } from "./events";
import { toFrames, type Body } from "./frames";
import type { LinkFactory, MdpLink } from "./link";
import { decodeClientCommand, encodeClientCommand, type MdpVersion } from "./protocol";
import { errorFromReply } from "./status";
import { checkRequestId, takeRequestId, withRequestId, type MajordomoRequestOptions } from "./request-ids";

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

/**
 * A Majordomo request. Its `key` is the id a broker speaking the request-id
 * extension sees: unique per client (a random client id and the request
 * number), and the same on every retry and failover, so the broker and
 * worker can tell a retry.
 */
interface MdpJob extends CoreJob {
  readonly key: string;
  readonly service: string;
  readonly body: Buffer[];
}

/**
 * The MDP carrier of both Majordomo clients, on the shared
 * {@link RequestCore} (queues, timers, retries, aborts and socket
 * replacement live there). It owns the link to the broker: one DEALER,
 * replaced after a timeout and aimed at the next broker of a pair, with
 * requests held until the broker's handshake says whether it speaks the
 * request-id extension. A reply with an id is matched to the request with
 * that id; one without (a plain broker) to the one request in flight in its
 * lane. Whenever a reply can no longer be trusted to belong to that request
 * (a timeout, or, without ids, a request abandoned mid-flight), the core
 * drops the link and resends the requests still in flight on a new one, so
 * a late reply can never be taken for another request's.
 */
export class ClientCore implements RequestCarrier<MdpJob, MajordomoError> {
  /** What the client does; completes after `{ type: "close" }`. */
  readonly events$: Observable<MajordomoClientEvent>;

  private readonly core: RequestCore<MdpJob, MajordomoClientEvent, MajordomoError>;
  private link?: MdpLink;
  private linkSubscriptions: Subscription[] = [];
  private generation = 0;
  private sockets = 0;
  /** Why the current link was dropped, reported when its replacement opens. */
  private replacedBecause?: ReplacementCause;
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
  private held: MdpJob[] = [];

  constructor(private readonly settings: ClientCoreSettings) {
    this.core = new RequestCore({ scheduler: settings.scheduler, logger: settings.logger, maxInFlight: settings.maxInFlight });
    this.core.attach(this);
    this.events$ = this.core.events$;
  }

  request(service: string, body: Body, options?: MajordomoRequestOptions): Observable<Buffer[]> {
    // Validated here, so a bad option throws at the call rather than inside a subscription.
    const settings = resolveRequestOptions(options, this.settings);
    const givenId = options?.id === undefined ? undefined : checkRequestId(options.id);
    return new Observable<Buffer[]>((subscriber) => {
      if (this.core.closed) {
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
      const id = this.core.nextId();
      const job: MdpJob = {
        id,
        key: givenId ?? `${this.clientId}-${id}`,
        service,
        body: frames,
        lane: this.settings.lanes === "single" ? "" : service,
        subscriber,
        timeout: settings.timeout,
        retries: settings.retries,
        attempts: 0,
        active: false,
        done: false,
        sentOn: 0,
        release: () => undefined,
      };
      this.liveIds.add(job.key);
      return this.core.submit(job, settings.signal);
    });
  }

  /** Fails what is pending, closes the socket; resolves once it is released, right after the `close` event. */
  close(): Promise<void> {
    return this.core.close();
  }

  /** {@link RequestCarrier} hook: sends on the link, or holds the request until the link's broker is known. */
  transmit(job: MdpJob): void {
    const link = this.ensureLink();
    if (!this.linkReady) {
      this.held.push(job);
      return;
    }
    this.sendOn(link, job);
  }

  /** {@link RequestCarrier} hook: closes the link; the result settles once its socket is released (when the link can tell). */
  drop(cause?: ReplacementCause): void | Promise<void> {
    this.generation += 1;
    for (const subscription of this.linkSubscriptions.splice(0)) subscription.unsubscribe();
    const link = this.link;
    this.link = undefined;
    if (cause && !this.core.closed) this.replacedBecause = cause;
    return link?.close();
  }

  /** {@link RequestCarrier} hook: every request may be in flight at once when the link's broker matches replies by id. */
  pipelining(): boolean {
    return this.settings.lanes === "service" && this.idsMatched();
  }

  /**
   * {@link RequestCarrier} hook: whether replies on the current link are
   * matched by id; then a late reply to a request that was given up is
   * dropped (no request has its id), and the socket need not be replaced
   * to keep it from another.
   */
  idsMatched(): boolean {
    return this.link !== undefined && this.linkReady && this.linkIds;
  }

  /** {@link RequestCarrier} hook. */
  timedOut(job: MdpJob): void {
    this.core.emit({ type: "timeout", request: job.id, service: job.service, attempt: job.attempts });
  }

  /** {@link RequestCarrier} hook. */
  gaveUp(job: MdpJob): MajordomoError {
    this.core.emit({ type: "gave-up", request: job.id, service: job.service, attempts: job.attempts });
    return new MajordomoError("timeout", `no reply from "${job.service}" after ${job.attempts} attempt(s)`);
  }

  /** {@link RequestCarrier} hook: reports the attempt the resend will be; it goes at once. */
  retry(job: MdpJob): undefined {
    this.core.emit({ type: "retry", request: job.id, service: job.service, attempt: job.attempts + 1 });
    return undefined;
  }

  /** {@link RequestCarrier} hook. */
  abandoned(job: MdpJob): void {
    this.core.emit({ type: "abandoned", request: job.id, service: job.service });
  }

  /** {@link RequestCarrier} hook. */
  aborted(job: MdpJob): MajordomoError {
    this.core.emit({ type: "aborted", request: job.id, service: job.service });
    return new MajordomoError("aborted", `request ${job.id} to "${job.service}" was aborted`);
  }

  /** {@link RequestCarrier} hook. */
  closedError(): MajordomoError {
    return new MajordomoError("closed", "client was closed");
  }

  /** {@link RequestCarrier} hook: the request's id is free again. */
  settled(job: MdpJob): void {
    this.liveIds.delete(job.key);
  }

  private sendOn(link: MdpLink, job: MdpJob): void {
    // A plain broker would take the id frames for body, so they go only to one that announced the extension.
    const body = this.linkIds ? withRequestId(job.key, job.body) : job.body;
    link.send(encodeClientCommand(this.settings.version, { type: "request", service: job.service, body }));
    this.core.emit({ type: "request-sent", request: job.id, service: job.service, attempt: job.attempts, socket: this.sockets });
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
      this.core.emit({ type: "error-reply", request: job.id, service, error: failure });
      this.core.settle(job, failure);
      return;
    }
    this.core.emit({ type: "reply", request: job.id, service, attempt: job.attempts, final: type === "final" });
    job.subscriber.next(body);
    if (type === "partial") this.core.arm(job);
    else this.core.settle(job);
  }

  /**
   * The request a reply answers: the one with the reply's id, or, for a
   * reply without one (a plain broker), the one request in flight in the
   * service's lane. Undefined when no request waits for it, or when the
   * reply could belong to several.
   */
  private matchReply(service: string, replyId: string | undefined): MdpJob | undefined {
    if (replyId !== undefined) {
      const job = this.core.inFlight.get(replyId);
      return job?.service === service ? job : undefined;
    }
    const lane = this.core.lanes.get(this.settings.lanes === "single" ? "" : service);
    if (!lane || lane.active.size !== 1) return undefined;
    const [job] = lane.active;
    return job?.service === service ? job : undefined;
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
      this.core.emit({ type: "reconnected", socket, cause: this.replacedBecause });
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
          if (event.type !== "unreachable") this.core.emit({ type: event.type, socket });
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
    if (!ids) {
      // Its replies cannot be told apart within a lane: requests pipelined on an earlier link go back to wait their turn.
      this.core.serialiseLanes();
      for (let i = held.length - 1; i >= 0; i--) if (!held[i]!.active) held.splice(i, 1);
    }
    for (const job of held) {
      if (job.active && !job.done) this.sendOn(link, job);
    }
    // A broker that speaks ids lets every waiting request out at once.
    if (ids) this.core.pump();
  }
}
