import type { Logger } from "pino";
import type { SchedulerLike } from "rxjs";
import type { ProtocolError } from "../errors";
import type { EngineOptions } from "../engine/zmtp-engine";
import type { PeerInfo } from "../engine/peer";
import type { SocketType } from "../engine/socket-type";
import type { Pipe } from "../pipe/pipe";
import type { SocketEvent } from "./events";
import type { Endpoint } from "./endpoint";

/**
 * What a socket offers the transports: its identity and options, a way to
 * make and admit pipes, and its event stream. Transports see nothing else.
 */
export interface TransportHost {
  readonly type: SocketType;
  readonly logger: Logger;
  readonly scheduler: SchedulerLike;
  /**
   * The socket's options as they stand now: read when they are needed (a
   * connection, a retry), since the application may change them between.
   * The socket's own object, so never written here.
   */
  readonly options: TransportOptions;
  /** Engine settings for a new connection, from the socket's current options. */
  engineOptions(asServer: boolean): EngineOptions;
  /** Makes a pipe owned by the socket. */
  createPipe(endpoint: string, spec: PipeSpec): Pipe;
  /** May this peer use this pipe? A refusal closes the connection. */
  admit(pipe: Pipe, peer: PeerInfo): ProtocolError | undefined;
  emit(event: SocketEvent): void;
}

/** The socket options transports act on. */
export interface TransportOptions {
  /** The routing id this socket announces (empty for none). */
  readonly routingId: Buffer;
  readonly reconnectInterval: number;
  readonly reconnectMaxInterval: number;
  readonly immediate: boolean;
  readonly backlog: number;
  readonly ipv6: boolean;
  /** Large frames to another thread over inproc go by transfer, not copy (the socket option of that name). */
  readonly transferLargeFrames: boolean;
}

/** How a new pipe behaves. */
export interface PipeSpec {
  /** Survives reconnects (made by connect() without `immediate`). */
  readonly persistent: boolean;
  /** Route to it at once, before any connection (otherwise after its first handshake). */
  readonly early: boolean;
  /** ROUTER-to-ROUTER: the routing id under which we know the peer. */
  readonly routingId?: Buffer;
}

/** A bound endpoint. */
export interface Binding {
  /** The address actually bound, as `lastEndpoint` reports it. */
  readonly endpoint: string;
  /** Stops listening and closes every connection accepted on it. */
  close(): Promise<void>;
}

/** A connected endpoint: keeps one connection up, reconnecting as needed. */
export interface Connection {
  /** Stops reconnecting and closes the current connection. */
  close(): void;
}

export interface ConnectOptions {
  /** ROUTER-to-ROUTER: the routing id under which we know this peer. */
  readonly routingId?: Buffer;
}

/** One transport: tcp, ipc or inproc. */
export interface Transport {
  bind(endpoint: Endpoint, host: TransportHost): Promise<Binding>;
  connect(endpoint: Endpoint, host: TransportHost, options: ConnectOptions): Connection;
}
