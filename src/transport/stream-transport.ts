import * as net from "node:net";
import type { Subscription } from "rxjs";
import { PrivateerError } from "../errors";
import type { Pipe } from "../pipe/pipe";
import type { Endpoint } from "./endpoint";
import { StreamLink } from "./stream-link";
import type { Binding, ConnectOptions, Connection, Transport, TransportHost } from "./transport";

/** How one stream transport (tcp or ipc) listens and connects. */
export interface StreamAddressing {
  /** Starts `server` listening; resolves with the endpoint to report as `lastEndpoint`. */
  listen(server: net.Server, endpoint: Endpoint, host: TransportHost): Promise<string>;
  /** Cleans up after the listener closed (ipc removes its file). */
  afterClose?(endpoint: string): void;
  /** Opens a connection attempt. */
  connect(endpoint: Endpoint): net.Socket;
  /** Options applied to every connected or accepted socket. */
  prepare?(socket: net.Socket): void;
}

/** tcp and ipc: Node `net` streams carrying ZMTP. */
export class StreamTransport implements Transport {
  constructor(private readonly addressing: StreamAddressing) {}

  async bind(endpoint: Endpoint, host: TransportHost): Promise<Binding> {
    const links = new Set<StreamLink>();
    const server = net.createServer({ pauseOnConnect: false, noDelay: true });
    const bound = await this.addressing.listen(server, endpoint, host).catch((error: NodeJS.ErrnoException) => {
      server.close();
      const code = error.code === "EADDRINUSE" ? "EADDRINUSE" : "EINVAL";
      throw new PrivateerError(code, `cannot bind to ${endpoint.address}: ${error.message}`, { cause: error });
    });
    server.on("connection", (socket) => {
      this.addressing.prepare?.(socket);
      host.emit({ type: "accept", address: bound });
      const link = new StreamLink(host, bound, socket, true, undefined, undefined, () => links.delete(link));
      links.add(link);
    });
    server.on("error", (error) => host.logger.warn({ err: error, endpoint: bound }, "listener error"));
    const addressing = this.addressing;
    return {
      endpoint: bound,
      close: () =>
        new Promise<void>((resolve) => {
          for (const link of links) link.close();
          server.close(() => resolve());
          // Right away, not in the callback: by then a new listener may own the path (rebind after close).
          addressing.afterClose?.(bound);
        }),
    };
  }

  connect(endpoint: Endpoint, host: TransportHost, options: ConnectOptions): Connection {
    return new StreamConnecter(this.addressing, endpoint, host, options);
  }
}

/**
 * Keeps one outgoing connection alive: connects, and after every failure or
 * disconnect waits `reconnectInterval` (doubling up to
 * `reconnectMaxInterval` when that is larger) and tries again, forever,
 * until closed.
 */
class StreamConnecter implements Connection {
  private link?: StreamLink;
  private retryTimer?: Subscription;
  private interval: number;
  private closed = false;
  private readonly pipe?: Pipe;
  private attempting?: net.Socket;

  constructor(
    private readonly addressing: StreamAddressing,
    private readonly endpoint: Endpoint,
    private readonly host: TransportHost,
    private readonly options: ConnectOptions,
  ) {
    this.interval = host.options.reconnectInterval;
    // Without `immediate`, the pipe exists from now on: messages wait in it for the connection.
    if (!host.options.immediate) this.pipe = host.createPipe(endpoint.address, { persistent: true, early: true, routingId: options.routingId });
    this.attempt();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retryTimer?.unsubscribe();
    this.attempting?.destroy();
    this.link?.close();
    this.pipe?.close();
  }

  private attempt(): void {
    if (this.closed) return;
    const socket = this.addressing.connect(this.endpoint);
    this.attempting = socket;
    const failed = (error: Error) => {
      socket.destroy();
      this.attempting = undefined;
      this.host.logger.debug({ err: error, endpoint: this.endpoint.address }, "connect failed");
      this.host.emit({ type: "connect:delay", address: this.endpoint.address });
      this.scheduleRetry();
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      socket.off("error", failed);
      this.attempting = undefined;
      if (this.closed) {
        socket.destroy();
        return;
      }
      this.addressing.prepare?.(socket);
      this.host.emit({ type: "connect", address: this.endpoint.address });
      this.link = new StreamLink(
        this.host,
        this.endpoint.address,
        socket,
        false,
        this.pipe,
        this.options.routingId,
        (_error, handshaken) => {
          this.link = undefined;
          if (handshaken) this.interval = this.host.options.reconnectInterval;
          this.scheduleRetry();
        },
      );
    });
  }

  private scheduleRetry(): void {
    if (this.closed || this.host.options.reconnectInterval < 0) return;
    const delay = this.interval;
    const max = this.host.options.reconnectMaxInterval;
    if (max > this.host.options.reconnectInterval) this.interval = Math.min(this.interval * 2, max);
    this.host.emit({ type: "connect:retry", address: this.endpoint.address, interval: delay });
    this.retryTimer = this.host.scheduler.schedule(() => this.attempt(), delay);
  }
}
