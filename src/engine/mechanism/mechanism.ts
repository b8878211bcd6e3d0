import type { Command } from "../../codec/command";
import type { Metadata } from "../../codec/metadata";
import type { ProtocolError } from "../../errors";

/** Security mechanisms a ZMTP greeting can name (RFC 23). */
export type MechanismName = "NULL" | "PLAIN" | "CURVE";

/**
 * A ZAP request (RFC 27) a server-side mechanism needs answered before it
 * can go on. The engine sends it to the handler bound on
 * `inproc://zeromq.zap.01` and feeds the reply back through
 * {@link Mechanism.zapReply}.
 */
export interface ZapRequest {
  readonly domain: string;
  /** The client's address as the server sees it (IP for tcp, empty for ipc). */
  readonly address: string;
  /** The server socket's routing id. */
  readonly identity: Buffer;
  readonly mechanism: MechanismName;
  /** Mechanism-specific frames: PLAIN sends username and password, CURVE the client's 32-byte long-term public key. */
  readonly credentials: readonly Buffer[];
}

/** What a ZAP handler answered: `undefined` to {@link Mechanism.zapReply} means no handler is bound. */
export interface ZapReply {
  /** "200" allows; "300" (temporary), "400" (denied), "500" (internal error) refuse. */
  readonly statusCode: string;
  readonly statusText: string;
  /** The user id the handler assigned; reaches the application as the `User-Id` property. */
  readonly userId: string;
  /** Extra properties from the handler (RFC 27 metadata frame), already decoded. */
  readonly metadata: Metadata;
}

/**
 * The next step of a handshake, as a mechanism decides it. `send` lists the
 * commands to write first, in order, whatever the status.
 */
export type MechanismStep =
  /** Waiting for the peer's next command. */
  | { readonly status: "handshaking"; readonly send: readonly Command[] }
  /** Waiting for the ZAP handler: call {@link Mechanism.zapReply} with its answer. */
  | { readonly status: "zap"; readonly send: readonly Command[]; readonly request: ZapRequest }
  /**
   * Done: the peer's properties (READY or INITIATE, plus `User-Id` and ZAP metadata on a server).
   * `codec`, when present, wraps every frame from now on (CURVE's MESSAGE boxes); NULL and PLAIN have none.
   */
  | {
      readonly status: "ready";
      readonly send: readonly Command[];
      readonly metadata: Metadata;
      readonly codec?: MessageCodec;
    }
  /** Refused: close the connection after writing `send`. */
  | { readonly status: "error"; readonly send: readonly Command[]; readonly error: ProtocolError };

/**
 * One side of a mechanism's handshake, without I/O: the engine passes it
 * the commands that arrive after the greetings and performs the steps it
 * returns. NULL, PLAIN and later CURVE implement it; the socket-type check
 * and everything after READY stay in the engine.
 */
export interface Mechanism {
  readonly name: MechanismName;
  /** Our as-server flag in the greeting (RFC 23). */
  readonly asServer: boolean;
  /** The greetings have been exchanged; the commands we open with. */
  start(): MechanismStep;
  /** A command arrived during the handshake. */
  receive(command: Command): MechanismStep;
  /** The ZAP handler answered (`undefined`: none is bound). Only after a `zap` step. */
  zapReply(reply: ZapReply | undefined): MechanismStep;
}

/** What every mechanism puts in its READY (or INITIATE): Socket-Type, Identity, the application's `X-` properties. */
export type OwnProperties = ReadonlyMap<string, Buffer>;

/**
 * How a mechanism that protects traffic (CURVE) carries frames after the
 * handshake. The engine hands it each frame it would have written and each
 * frame it reads; a mechanism without one (NULL, PLAIN) costs the engine's
 * per-frame path nothing.
 */
export interface MessageCodec {
  /**
   * The body of the frame to write in place of one frame.
   * @param body - the frame's body (a command's encoded body for commands).
   * @param frameFlags - its ZMTP flags (`FrameFlags.MORE`, `FrameFlags.COMMAND`).
   */
  encode(body: Buffer, frameFlags: number): Buffer;
  /**
   * The frame carried by a received frame body, with its ZMTP flags (MORE, COMMAND).
   * @throws ProtocolError when it is malformed, fails to open, or replays a nonce.
   */
  decode(frame: Buffer): { readonly flags: number; readonly body: Buffer };
}
