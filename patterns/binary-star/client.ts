import { asyncScheduler, type SchedulerLike } from "rxjs";
import type { Logger } from "pino";
import { componentLogger, type SocketOptions } from "../../src";
import { RetryingClient, RetryingRequestClient } from "../shared/retrying-request-client";
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
  /**
   * Options for every REQ socket the client opens (one per attempt after a
   * timeout, aimed at one server of the pair), applied over the default
   * `linger: 0`: one set for both servers, or a function of the endpoint
   * the socket is for. The client connects, so it takes a mechanism's
   * client role: over CURVE, the server's public key as `curveServerKey`
   * and this client's `curveSecretKey` (CURVE servers bind, clients
   * connect); servers with distinct keys need the function form. Default: none.
   * Options the socket refuses (a malformed key) fail each request with reason `socket`.
   */
  socket?: SocketOptions | ((endpoint: string) => SocketOptions);
  /** Parent logger. Default: silent. */
  logger?: Logger;
  /** Scheduler for the timeouts and the settle delay; tests pass a virtual-time one. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * The options-object form of the {@link BinaryStarClient} constructor, the
 * shape the Majordomo clients take: the pair's endpoints beside the other options.
 */
export interface BinaryStarClientConfig extends BinaryStarClientOptions {
  /** The primary's frontend, then the backup's. The first request goes to the primary. */
  endpoints: readonly [string, string];
}

/** Where an attempt went, on its `request-sent` and `reply` events. */
interface Target {
  readonly server: "primary" | "backup";
  readonly endpoint: string;
}

/** The events only a Binary Star client reports; the shared engine reports the rest. */
type BinaryStarExtraEvent = Extract<BinaryStarClientEvent, { readonly type: "timeout" | "failover" }>;

const SERVERS = ["primary", "backup"] as const;

/**
 * The Binary Star failover client (the guide's bstarcli): Lazy Pirate over
 * REQ, aimed at one server of a pair at a time. When a reply does not come
 * within `timeout`, the socket is dropped (linger 0); after `settleDelay` a
 * fresh one connects to the other server and the request is sent again.
 * The client stays with whichever server answered last. Requests are served
 * one at a time in call order; a request whose reply was lost is processed
 * again, so servers should be idempotent. Requests fail with a
 * {@link BinaryStarError} (reasons "timeout", "aborted", "closed", "socket").
 *
 * @example
 * ```ts
 * const client = new BinaryStarClient({ endpoints: ["tcp://127.0.0.1:5001", "tcp://127.0.0.1:5002"], timeout: 1000 });
 * const [reply] = await client.call("hello");
 * await client.close();
 * ```
 */
export class BinaryStarClient extends RetryingClient<BinaryStarClientEvent> {
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

  protected readonly engine: RetryingRequestClient<Target, BinaryStarExtraEvent, BinaryStarError>;
  /** Index of the server attempts go to; changes only on failover. */
  private server: 0 | 1 = 0;
  /** Attempts of the current request at `server` since it last failed over (or started). */
  private atServer = 0;

  /** One options object, `endpoints` among them (as the Majordomo clients take their `broker`). */
  constructor(config: BinaryStarClientConfig);
  /**
   * The guide-style shorthand: `endpoints` (the primary's frontend, then
   * the backup's) first, then the options. The first request goes to the primary.
   */
  constructor(endpoints: readonly [string, string], options?: BinaryStarClientOptions);
  constructor(first: readonly [string, string] | BinaryStarClientConfig, second: BinaryStarClientOptions = {}) {
    super();
    // Anything but a plain object is taken as the endpoints, so a malformed pair fails the check below as before.
    const positional = Array.isArray(first) || typeof first !== "object" || first === null;
    const endpoints = positional ? first : (first as BinaryStarClientConfig).endpoints;
    const options: BinaryStarClientOptions = positional ? second : (first as BinaryStarClientConfig);
    if (!Array.isArray(endpoints) || endpoints.length !== 2 || endpoints.some((e) => typeof e !== "string" || e === "")) {
      throw new BinaryStarError("invalid", "a Binary Star client needs exactly two endpoints: [primary, backup]");
    }
    this.endpoints = [endpoints[0], endpoints[1]];
    this.timeout = integerAtLeast("timeout", options.timeout ?? 1000, 1);
    this.settleDelay = integerAtLeast("settleDelay", options.settleDelay ?? 2000, 0);
    this.attemptsPerServer = integerAtLeast("attemptsPerServer", options.attemptsPerServer ?? 1, 1);
    this.retries = integerAtLeast("retries", options.retries ?? 5, 0);
    const logger = componentLogger("binary-star-client", { endpoints: this.endpoints }, options.logger);
    const socket = options.socket;
    this.engine = new RetryingRequestClient(
      {
        timeout: this.timeout,
        retries: this.retries,
        scheduler: options.scheduler ?? asyncScheduler,
        logger,
        ...(typeof socket === "function"
          ? { socket: () => socket(this.endpoints[this.server]) }
          : socket
            ? { socket }
            : {}),
      },
      {
        error: (reason, message, errorOptions) => new BinaryStarError(reason, message, errorOptions),
        exhaustedMessage: (attempts, timeout) => `no reply from either server after ${attempts} attempt(s) of ${timeout} ms`,
        // Connected to one server only, so a failover is a fresh socket aimed at the other one.
        connect: (socket) => socket.connect(this.endpoints[this.server]),
        sending: ({ attempt }) => {
          this.atServer = attempt === 1 ? 1 : this.atServer + 1;
          return this.target();
        },
        timedOut: ({ request, attempt }, emit) => emit({ type: "timeout", request, ...this.target(), attempt }),
        retry: ({ request }, emit) => {
          if (this.atServer < this.attemptsPerServer) return undefined;
          const from = SERVERS[this.server];
          this.atServer = 0;
          this.server = this.server === 0 ? 1 : 0;
          const to = SERVERS[this.server];
          emit({ type: "failover", request, from, to, endpoint: this.endpoints[this.server], settleDelay: this.settleDelay });
          return this.settleDelay;
        },
      },
    );
  }

  /** The server the next request goes to: the one that answered last. */
  get currentServer(): "primary" | "backup" {
    return SERVERS[this.server];
  }

  private target(): Target {
    return { server: SERVERS[this.server], endpoint: this.endpoints[this.server] };
  }
}
