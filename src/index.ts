/**
 * Privateer: ZeroMQ (ZMTP 3.1) in pure TypeScript, wire-compatible with
 * libzmq, with the socket API of zeromq.js v6 plus RxJS streams.
 *
 * @packageDocumentation
 */
export { Pair } from "./socket-types/pair";
export { Publisher } from "./socket-types/publisher";
export type { PublisherOptions } from "./socket-types/publisher-base";
export type { SubscriberOptions } from "./socket-types/subscriber-base";
export { Subscriber } from "./socket-types/subscriber";
export { XPublisher, type XPublisherOptions } from "./socket-types/xpublisher";
export { XSubscriber } from "./socket-types/xsubscriber";
export { Request, type RequestOptions } from "./socket-types/request";
export { Reply } from "./socket-types/reply";
export { Dealer } from "./socket-types/dealer";
export { Router, type RouterOptions } from "./socket-types/router";
export { Push } from "./socket-types/push";
export { Pull } from "./socket-types/pull";

export { SocketBase } from "./socket/socket-base";
export type { Readable, Writable } from "./socket/capabilities";
export type { MessageLike } from "./socket/message";
export type { SocketOptions, SocketSettings } from "./socket/options";
export type { SocketEvent, SocketEventType } from "./transport/events";
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
