/**
 * Privateer: ZeroMQ (ZMTP 3.1) in pure TypeScript, wire-compatible with
 * libzmq, with the socket API of zeromq.js v6 plus RxJS streams.
 *
 * @packageDocumentation
 */
export { Pair } from "./sockets/pair";
export { Publisher } from "./sockets/publisher";
export type { PublisherOptions } from "./sockets/publisher-base";
export type { SubscriberOptions } from "./sockets/subscriber-base";
export { Subscriber } from "./sockets/subscriber";
export { XPublisher, type XPublisherOptions } from "./sockets/xpublisher";
export { XSubscriber } from "./sockets/xsubscriber";
export { Request, type RequestOptions } from "./sockets/request";
export { Reply } from "./sockets/reply";
export { Dealer } from "./sockets/dealer";
export { Router, type RouterOptions } from "./sockets/router";
export { Push } from "./sockets/push";
export { Pull } from "./sockets/pull";

export { SocketBase } from "./socket/socket-base";
export type { Readable, Writable } from "./socket/capabilities";
export type { MessageLike } from "./socket/message";
export type { SocketOptions, SocketSettings } from "./socket/options";
export type { SocketEvent, SocketEventType } from "./socket/events";
export type { Message } from "./codec/frame";
export type { PeerInfo } from "./engine/peer";
export type { SocketType } from "./engine/socket-type";
export type { Metadata } from "./codec/metadata";
export { PrivateerError, ProtocolError, type ErrorCode, type ProtocolErrorReason } from "./errors";
export { componentLogger, setLogger, type Logger } from "./log";
export { AuthenticationError } from "./errors";
export {
  zapAuthenticator,
  type ZapAuthenticator,
  type ZapAuthRequest,
  type ZapDecision,
  type ZapOutcome,
} from "./security/zap-authenticator";
export { zapAllowList, type ZapAllowListOptions } from "./security/zap-allow-list";
export {
  curveKeyPair,
  curvePublic,
  CurveKeyError,
  type CurveKey,
  type CurveKeyPair,
} from "./security/curve/key-pair";
export { encodeZ85, decodeZ85, Z85Error } from "./codec/z85";
