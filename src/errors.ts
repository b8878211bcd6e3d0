/**
 * Error codes. Socket-level codes follow the errno names zeromq.js uses, so
 * code that switches on `err.code` keeps working after the import changes.
 */
export type ErrorCode =
  /** The operation could not complete now: timed out, or the socket closed while it waited. */
  | "EAGAIN"
  /** The socket (or the endpoint) is closed. */
  | "EBADF"
  /** The operation is not valid in the socket's current state (e.g. REQ sending twice). */
  | "EFSM"
  /** An argument or option value is invalid. */
  | "EINVAL"
  /** The socket type does not support this operation. */
  | "ENOTSUP"
  /** A ROUTER with `mandatory` was asked to send to an unknown peer. */
  | "EHOSTUNREACH"
  /** The address is already bound. */
  | "EADDRINUSE"
  /** The endpoint is not bound / connected on this socket. */
  | "ENOENT"
  /** The transport protocol in an endpoint is not supported. */
  | "EPROTONOSUPPORT"
  /** A peer broke the ZMTP protocol. */
  | "EPROTO"
  /** The caller cancelled the operation (an AbortSignal fired). */
  | "ECANCELED";

/**
 * Base class of every error Privateer raises, the pattern errors
 * (PirateError, MajordomoError) included: `code` is always one of the
 * errno-style names above, and `cause` holds the underlying error, if any.
 */
export class PrivateerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Why a peer was refused; the same reasons are reported in handshake and protocol error events. */
export type ProtocolErrorReason =
  | "bad-signature"
  | "unsupported-version"
  | "unsupported-mechanism"
  | "mechanism-mismatch"
  | "bad-command"
  | "unexpected-command"
  | "malformed-command"
  | "missing-socket-type"
  | "incompatible-socket-type"
  | "reserved-flags"
  | "message-too-large"
  | "peer-error"
  | "handshake-timeout"
  | "heartbeat-timeout"
  | "duplicate-routing-id"
  | "exclusive-peer"
  | "truncated"
  /** PLAIN/CURVE: both peers act as servers, or both as clients. */
  | "role-mismatch"
  /** The ZAP handler (or, on a client, the server) refused the credentials; see {@link AuthenticationError}. */
  | "authentication-failed"
  /** A server mechanism that needs ZAP found no handler bound on `inproc://zeromq.zap.01`. */
  | "no-zap-handler"
  /**
   * CURVE: a box did not open (HELLO, WELCOME, cookie, vouch, INITIATE,
   * READY or a MESSAGE): a wrong server key, a forged or corrupted command.
   */
  | "decrypt-failed"
  /** CURVE: a short nonce from the peer did not increase (a replayed or reordered command). */
  | "nonce-replayed"
  /**
   * CURVE: this socket's own keys cannot work: `curveSecretKey` (or a
   * client's `curveServerKey`) is missing, `curvePublicKey` does not belong
   * to `curveSecretKey`, or a key is not a usable Curve25519 point.
   */
  | "invalid-key";

/** A peer sent something ZMTP forbids, or could not complete a handshake with us. */
export class ProtocolError extends PrivateerError {
  readonly reason: ProtocolErrorReason;

  constructor(reason: ProtocolErrorReason, message: string, options?: { cause?: unknown }) {
    super("EPROTO", message, options);
    this.reason = reason;
  }
}

/**
 * The peer's credentials were refused (reason `authentication-failed`):
 * on a server by its ZAP handler, on a client as the server's ERROR said.
 * `status` is the ZAP status code: 300 (temporary), 400 (denied), 500
 * (handler error). Never carries the credentials themselves.
 */
export class AuthenticationError extends ProtocolError {
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super("authentication-failed", message, options);
    this.status = status;
  }
}
