import { asyncScheduler, lastValueFrom, type Observable, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import { componentLogger, PrivateerError } from "../../src";
import { ClientCore } from "./client-core";
import type { MajordomoClientEvent } from "./events";
import type { Body } from "./frames";
import { brokerEndpoints, brokerSocketOptions, dealerLink, type BrokerSocketOptions, type LinkFactory } from "./link";
import { nonNegative, positive } from "../shared/validate";
import type { MdpVersion } from "./protocol";
import type { MajordomoRequestOptions } from "./request-ids";

/** Options of both Majordomo clients. */
export interface MajordomoClientOptions {
  /**
   * The broker endpoint, or both endpoints of a broker pair (the
   * broker's `pair` option): the client starts with the first,
   * and each retry after a timeout goes to the next in turn on its fresh
   * socket, so requests follow the active broker. With a pair, a `timeout`
   * at least the pair's peer window (heartbeat × peerExpiryMultiplier) lets
   * the first retry to the backup find its peer dead and take over.
   * Required unless `linkFactory` is given.
   */
  broker?: string | readonly string[];
  /** MDP version to speak. Default "0.2" (18/MDP, with partial replies). */
  version?: MdpVersion;
  /** ms to wait for a reply (or for the next partial reply) before retrying. Default 2500. */
  timeout?: number;
  /** Times a request is resent on a fresh socket after a timeout before it fails. Default 2 (3 attempts). */
  retries?: number;
  /**
   * Extra options for the DEALER socket, each fresh one after a timeout
   * included, applied over the default `linger: 0`: one set for every
   * broker, or a function of the broker endpoint. The client connects, so
   * over CURVE these are client settings: the broker's public key as
   * `curveServerKey` and this client's `curveSecretKey` (see
   * {@link BrokerSocketOptions}).
   */
  socket?: BrokerSocketOptions;
  /** Scheduler for timeouts; tests pass a TestScheduler. */
  scheduler?: SchedulerLike;
  logger?: Logger;
  /** Makes the connection (a fresh one after each timeout); defaults to a new DEALER to `broker`. */
  linkFactory?: LinkFactory;
  /**
   * MajordomoAsyncClient only: when the broker speaks the request-id
   * extension (a Privateer broker), at most this many requests are in
   * flight at once, over all services; the others wait in call order.
   * Default 1000. MajordomoClient always has one in flight, and with a
   * plain MDP broker the async client has one per service.
   */
  maxInFlight?: number;
}

/**
 * Enough to keep a broker and a few workers busy (the benchmark's 100 in
 * flight is within it) while bounding what one client can pile onto a
 * broker's queues and resend after a timeout.
 */
const DEFAULT_MAX_IN_FLIGHT = 1000;

/** Builds the request engine shared by both client classes. */
export function createClientCore(options: MajordomoClientOptions, lanes: "single" | "service", name: string): ClientCore {
  const endpoints = brokerEndpoints(options.broker);
  if (endpoints.some((endpoint) => typeof endpoint !== "string" || endpoint === "")) {
    throw new PrivateerError("EINVAL", "broker endpoints must be non-empty strings");
  }
  if (endpoints.length === 0 && !options.linkFactory) throw new PrivateerError("EINVAL", "a client needs a broker endpoint");
  const logger = componentLogger(name, {}, options.logger);
  const linkFactory: LinkFactory =
    options.linkFactory ??
    ((endpoint) => {
      const target = endpoint ?? endpoints[0]!;
      const socket = brokerSocketOptions(options.socket, target);
      return dealerLink(target, { logger, linger: 0, ...(socket ? { socket } : {}) });
    });
  return new ClientCore({
    version: options.version ?? "0.2",
    timeout: positive("timeout", options.timeout ?? 2500),
    retries: nonNegative("retries", options.retries ?? 2),
    scheduler: options.scheduler ?? asyncScheduler,
    logger,
    linkFactory,
    endpoints,
    lanes,
    maxInFlight: positive("maxInFlight", options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
  });
}

/** Asks the broker's `mmi.service` whether a worker serves `service`. */
export async function serviceAvailable(
  request: (service: string, body: string) => Observable<Buffer[]>,
  service: string,
): Promise<boolean> {
  const [status] = await lastValueFrom(request("mmi.service", service));
  return status?.toString() === "200";
}

/**
 * What both Majordomo clients offer; they differ only in how many requests
 * they let out at once (`lanes`), which the shared core implements.
 */
export abstract class MajordomoClientBase {
  /**
   * What the client does: requests sent, replies, timeouts, retries, giving
   * up, error replies, fresh sockets and the socket's connection to the
   * broker coming and going. Completes after `{ type: "close" }`. Hot:
   * events are not replayed, so subscribe before the first request.
   */
  readonly events$: Observable<MajordomoClientEvent>;

  private readonly core: ClientCore;

  protected constructor(options: MajordomoClientOptions, lanes: "single" | "service", component: string) {
    this.core = createClientCore(options, lanes, component);
    this.events$ = this.core.events$;
  }

  /**
   * Sends a request when subscribed. Emits each reply (several PARTIALs and
   * the FINAL with MDP 0.2, one REPLY with 0.1) and completes; errors with a
   * MajordomoError on timeout after every retry, on an error reply from the
   * broker or worker (e.g. `service-unavailable`), when `options.signal`
   * fires (reason "aborted"), or when the client closes. `options` override
   * the client's `timeout` and `retries` for this request, and `options.id`
   * sets its request id (see {@link MajordomoRequestOptions.id}). Unsubscribing
   * abandons the request.
   */
  request(service: string, body: Body, options?: MajordomoRequestOptions): Observable<Buffer[]> {
    return this.core.request(service, body, options);
  }

  /**
   * {@link request} as a Promise of the final reply's frames (the last one
   * MDP delivered). Rejects with the same MajordomoErrors.
   */
  call(service: string, body: Body, options?: MajordomoRequestOptions): Promise<Buffer[]> {
    return lastValueFrom(this.request(service, body, options));
  }

  /** Asks the broker (8/MMI `mmi.service`) whether any worker serves `service`. */
  serviceAvailable(service: string): Promise<boolean> {
    return serviceAvailable((s, b) => this.request(s, b), service);
  }

  /**
   * Fails every pending request with reason "closed" and closes the socket.
   * Resolves once the socket is released (after the `close` event); calling
   * it again returns the same promise.
   */
  close(): Promise<void> {
    return this.core.close();
  }
}

/**
 * A synchronous-style Majordomo client: one request at a time, like a REQ
 * socket (later calls wait their turn), with Lazy Pirate recovery: when no
 * reply comes within `timeout`, the socket is closed, a new one opened and
 * the request resent, up to `retries` times.
 *
 * @example
 * ```ts
 * const client = new MajordomoClient({ broker: "tcp://127.0.0.1:5555" });
 * const reply = await client.call("echo", "hello", { timeout: 1000, signal: AbortSignal.timeout(5000) });
 * await client.close();
 * ```
 */
export class MajordomoClient extends MajordomoClientBase {
  constructor(options: MajordomoClientOptions) {
    super(options, "single", "mdp-client");
  }
}

/**
 * An asynchronous Majordomo client: many requests in flight over one DEALER.
 *
 * With a broker that speaks the request-id extension (a Privateer broker),
 * every request goes out at once (up to `maxInFlight`) and each reply is
 * matched to its request by the id the broker echoes, so requests to one
 * service are pipelined. With a plain MDP broker, whose replies name only
 * the service, requests to the same service are sent one after another (in
 * call order) while requests to different services run at once. Timeouts
 * and retries work as in {@link MajordomoClient}; a retry replaces the
 * socket and resends every request in flight, each with its own id (the
 * broker joins a resend to the original).
 *
 * @example
 * ```ts
 * const client = new MajordomoAsyncClient({ broker: "tcp://127.0.0.1:5555" });
 * client.request("ticker", "EURUSD").subscribe((part) => console.log(part.toString()));
 * ```
 */
export class MajordomoAsyncClient extends MajordomoClientBase {
  constructor(options: MajordomoClientOptions) {
    super(options, "service", "mdp-async-client");
  }
}
