import { asyncScheduler, lastValueFrom, type Observable, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import { PrivateerError } from "../../src";
import { componentLogger } from "../../src";
import { ClientCore } from "./client-core";
import { brokerEndpoints, brokerSocketOptions, dealerLink, type BrokerSocketOptions, type LinkFactory } from "./link";
import { nonNegative, positive } from "./options";
import type { MdpVersion } from "./protocol";

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
