import { asyncScheduler, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import { componentLogger, type SocketOptions } from "../../src";
import { PirateError } from "./errors";
import type { LazyPirateEvent } from "./events";
import { nonNegative, positive } from "../shared/validate";
import { RetryingClient, RetryingRequestClient } from "../shared/retrying-request-client";

/** Options of a {@link LazyPirateClient}. */
export interface LazyPirateClientOptions {
  /** ms to wait for each reply before giving up on that attempt. Default 2500 (the zguide's REQUEST_TIMEOUT). */
  timeout?: number;
  /**
   * How many times a timed-out request is sent again, each time on a fresh
   * socket; `retries: 3` means up to 4 attempts. Default 3.
   */
  retries?: number;
  /**
   * Options for every REQ socket the client opens (the first and each fresh
   * one after a timeout), applied over the default `linger: 0`. The client
   * connects, so it takes a mechanism's client role: for CURVE, the queue's
   * or server's public key as `curveServerKey` plus this client's
   * `curveSecretKey` (CURVE servers bind, clients connect). Default: none.
   * Options the socket refuses (a malformed key) fail each request with reason `socket`.
   */
  socket?: SocketOptions;
  /** Parent logger. Default: silent. */
  logger?: Logger;
  /** Scheduler for the reply timeouts; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * The options-object form of the {@link LazyPirateClient} constructor, the
 * shape the Majordomo clients take: the endpoints beside the other options.
 */
export interface LazyPirateClientConfig extends LazyPirateClientOptions {
  /** The server or queue frontend to connect to, or several: the one REQ socket takes them in turn. */
  endpoints: string | readonly string[];
}

/** The events only a Lazy Pirate client reports; the shared engine reports the rest. */
type LazyPirateExtraEvent = Extract<LazyPirateEvent, { readonly type: "retry" | "reconnect" }>;

/**
 * The zguide's Lazy Pirate client: request-reply over REQ that survives a
 * lost request or reply. Each attempt waits `timeout` ms; when it expires
 * the REQ socket (stuck waiting for a reply that will never come) is closed
 * with linger 0 and a fresh one connected, and the request is sent again,
 * up to `retries` times. Requests are served one at a time in call order,
 * as REQ demands. A request that was processed but whose reply was lost is
 * processed again: servers should be idempotent. Requests fail with a
 * {@link PirateError} (reasons "timeout", "aborted", "closed", "socket").
 *
 * @example
 * ```ts
 * const client = new LazyPirateClient({ endpoints: "tcp://127.0.0.1:5555", timeout: 1000, retries: 2 });
 * client.request("hello").subscribe({ next: ([reply]) => use(reply), error: (e: PirateError) => warn(e.code) });
 * const [reply] = await client.call("again", { timeout: 500, signal: AbortSignal.timeout(5000) });
 * await client.close();
 * ```
 */
export class LazyPirateClient extends RetryingClient<LazyPirateEvent> {
  readonly endpoints: readonly string[];
  readonly timeout: number;
  readonly retries: number;

  protected readonly engine: RetryingRequestClient<Record<never, never>, LazyPirateExtraEvent, PirateError>;
  /** Sockets opened so far: every one after the first replaces a socket dropped after a timeout. */
  private sockets = 0;

  /** One options object, `endpoints` among them (as the Majordomo clients take their `broker`). */
  constructor(config: LazyPirateClientConfig);
  /** The guide-style shorthand: the endpoint(s) first, then the options. */
  constructor(endpoints: string | readonly string[], options?: LazyPirateClientOptions);
  constructor(first: string | readonly string[] | LazyPirateClientConfig, second: LazyPirateClientOptions = {}) {
    super();
    const positional = typeof first === "string" || Array.isArray(first);
    const endpoints = positional ? first : (first as LazyPirateClientConfig | undefined)?.endpoints;
    const options: LazyPirateClientOptions = positional ? second : (first as LazyPirateClientConfig);
    this.endpoints = typeof endpoints === "string" ? [endpoints] : Array.isArray(endpoints) ? [...(endpoints as readonly string[])] : [];
    if (this.endpoints.length === 0) throw new PirateError("invalid", "a Lazy Pirate client needs at least one endpoint");
    this.timeout = positive("timeout", options.timeout ?? 2500);
    this.retries = nonNegative("retries", options.retries ?? 3);
    const logger = componentLogger("lazy-pirate-client", { endpoints: this.endpoints }, options.logger);
    this.engine = new RetryingRequestClient(
      {
        timeout: this.timeout,
        retries: this.retries,
        scheduler: options.scheduler ?? asyncScheduler,
        logger,
        ...(options.socket ? { socket: options.socket } : {}),
      },
      {
        error: (reason, message, errorOptions) => new PirateError(reason, message, errorOptions),
        exhaustedMessage: (attempts, timeout) => `no reply after ${attempts} attempt(s) of ${timeout} ms`,
        // One socket connected to every endpoint: REQ round-robins the attempts over them.
        connect: (socket, emit) => {
          for (const endpoint of this.endpoints) socket.connect(endpoint);
          this.sockets += 1;
          if (this.sockets > 1) emit({ type: "reconnect", endpoints: this.endpoints });
        },
        sending: () => ({}),
        retry: ({ request, attempt, retriesLeft }, emit) => {
          emit({ type: "retry", request, attempt, retriesLeft });
          return undefined;
        },
      },
    );
  }
}
