import type { Logger } from "pino";
import type { SchedulerLike } from "rxjs";

/** Options every socket type accepts, in the constructor or as properties. Names and defaults follow zeromq.js v6 / libzmq. */
export interface SocketOptions {
  /** Our identity, sent to the peer as `Identity` by REQ, DEALER and ROUTER (ZMQ_ROUTING_ID). Default: none. */
  routingId?: string | Buffer | null;
  /** Messages queued per peer for sending before the socket's full-pipe rule applies (ZMQ_SNDHWM). 0 = unbounded. Default 1000. */
  sendHighWaterMark?: number;
  /** Messages queued per peer on receipt before reading from it pauses (ZMQ_RCVHWM). 0 = unbounded. Default 1000. */
  receiveHighWaterMark?: number;
  /** ms to keep flushing queued messages after close(); -1 = until sent, 0 = drop them. Default -1. */
  linger?: number;
  /** ms before reconnecting after a connection fails or drops; -1 disables reconnection. Default 100. */
  reconnectInterval?: number;
  /** Upper bound of the doubling reconnect interval; 0 = do not double. Default 0. */
  reconnectMaxInterval?: number;
  /** ms between ZMTP PINGs; 0 = no heartbeats. Default 0. */
  heartbeatInterval?: number;
  /** ms to wait for traffic after a PING before dropping the connection; -1 = heartbeatInterval. Default -1. */
  heartbeatTimeout?: number;
  /** TTL (ms, rounded to tenths of a second) we ask peers to apply to us; 0 = none. Default 0. */
  heartbeatTimeToLive?: number;
  /** ms for a new connection to complete its handshake; 0 = no limit. Default 30000. */
  handshakeInterval?: number;
  /** Largest frame accepted from a peer in bytes; larger ones drop the connection. -1 = no limit. Default -1. */
  maxMessageSize?: number;
  /** Queue messages only to completed connections (ZMQ_IMMEDIATE). Default false. */
  immediate?: boolean;
  /** ms send() waits for room before failing with EAGAIN; -1 = forever, 0 = fail at once. Default -1. */
  sendTimeout?: number;
  /** ms receive() waits before failing with EAGAIN; -1 = forever. Default -1. */
  receiveTimeout?: number;
  /** Listen on IPv6 as well for `tcp://*` binds. Default false. */
  ipv6?: boolean;
  /** Pending-connection queue length for listeners. Default 100. */
  backlog?: number;
  /**
   * Keep only the newest message in each queue (ZMQ_CONFLATE): for PUB, SUB,
   * PUSH, PULL and DEALER carrying single-frame "latest value" messages.
   * Overrides the high-water marks. Default false.
   */
  conflate?: boolean;
}

/** Construction-only settings that are not ZeroMQ options. */
export interface SocketSettings {
  /** Parent logger; the socket logs through a child of it. Default: silent. */
  logger?: Logger;
  /** Scheduler for timers (reconnect, heartbeat, handshake, timeouts); tests pass a virtual-time one. */
  scheduler?: SchedulerLike;
}

/** The resolved values, with defaults filled in. */
export interface ResolvedOptions {
  routingId: Buffer;
  sendHighWaterMark: number;
  receiveHighWaterMark: number;
  linger: number;
  reconnectInterval: number;
  reconnectMaxInterval: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  heartbeatTimeToLive: number;
  handshakeInterval: number;
  maxMessageSize: number;
  immediate: boolean;
  sendTimeout: number;
  receiveTimeout: number;
  ipv6: boolean;
  backlog: number;
  conflate: boolean;
}

export function defaultOptions(): ResolvedOptions {
  return {
    routingId: Buffer.alloc(0),
    sendHighWaterMark: 1000,
    receiveHighWaterMark: 1000,
    linger: -1,
    reconnectInterval: 100,
    reconnectMaxInterval: 0,
    heartbeatInterval: 0,
    heartbeatTimeout: -1,
    heartbeatTimeToLive: 0,
    handshakeInterval: 30000,
    maxMessageSize: -1,
    immediate: false,
    sendTimeout: -1,
    receiveTimeout: -1,
    ipv6: false,
    backlog: 100,
    conflate: false,
  };
}
