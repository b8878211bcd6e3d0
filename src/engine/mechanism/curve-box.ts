import { ProtocolError } from "../../errors";
import { FrameFlags } from "../../codec/frame";
import { BOX_OVERHEAD, NONCE_BYTES, openInto, sealInto } from "../../security/curve/crypto";
import type { MessageCodec } from "./mechanism";

/**
 * Nonce prefixes of CurveZMQ (RFC 26). A 24-byte nonce is one of these plus
 * an 8-byte short nonce (16-byte prefixes) or a 16-byte random long nonce
 * (8-byte prefixes). Distinct prefixes keep a box made for one command from
 * ever opening as another.
 */
export const NoncePrefix = {
  HELLO: Buffer.from("CurveZMQHELLO---", "ascii"),
  WELCOME: Buffer.from("WELCOME-", "ascii"),
  COOKIE: Buffer.from("COOKIE--", "ascii"),
  INITIATE: Buffer.from("CurveZMQINITIATE", "ascii"),
  VOUCH: Buffer.from("VOUCH---", "ascii"),
  READY: Buffer.from("CurveZMQREADY---", "ascii"),
  /** Messages the client sends. */
  MESSAGE_CLIENT: Buffer.from("CurveZMQMESSAGEC", "ascii"),
  /** Messages the server sends. */
  MESSAGE_SERVER: Buffer.from("CurveZMQMESSAGES", "ascii"),
} as const;

/** Bytes of a short (per-command counter) nonce on the wire. */
export const SHORT_NONCE_BYTES = 8;
/** Bytes of a long (random) nonce on the wire. */
export const LONG_NONCE_BYTES = 16;

/** A full 24-byte nonce from a prefix and the nonce bytes sent on the wire. */
export function nonceOf(prefix: Buffer, wire: Uint8Array): Buffer {
  const nonce = Buffer.allocUnsafe(NONCE_BYTES);
  prefix.copy(nonce, 0);
  nonce.set(wire, prefix.length);
  return nonce;
}

/**
 * One direction's short nonces: 8-byte big-endian counters. Ours start at 1
 * and count up by one per command (HELLO, INITIATE or READY, then every
 * MESSAGE), as libzmq's do; the peer's must strictly increase, which makes a
 * replayed or reordered box fail before it is opened.
 */
export class ShortNonce {
  private next = 1;

  /** The next nonce to send, as its 8 wire bytes. */
  take(): Buffer {
    const bytes = Buffer.allocUnsafe(SHORT_NONCE_BYTES);
    this.writeNext(bytes, 0);
    return bytes;
  }

  /** Writes the next nonce to send into `target` at `offset` (the per-MESSAGE path: no allocation). */
  writeNext(target: Buffer, offset: number): void {
    // A counter of 2^53 would take centuries at a million messages a second: a Number is enough.
    const value = this.next++;
    target.writeUInt32BE(Math.floor(value / 0x100000000), offset);
    target.writeUInt32BE(value >>> 0, offset + 4);
  }

  /** The counter the next take() writes (for tests of the codec). */
  get upcoming(): number {
    return this.next;
  }
}

/** The highest short nonce a peer used; anything not above it is a replay. */
export class PeerNonce {
  // The last nonce as its two big-endian 32-bit halves: read per MESSAGE without a BigInt.
  private lastHigh = -1;
  private lastLow = -1;

  /**
   * Accepts `wire` (8 bytes) if it is higher than every earlier one.
   * @throws ProtocolError `nonce-replayed` otherwise.
   */
  advance(wire: Buffer, offset: number, what: string): void {
    const high = wire.readUInt32BE(offset);
    const low = wire.readUInt32BE(offset + 4);
    if (high < this.lastHigh || (high === this.lastHigh && low <= this.lastLow)) {
      const last = this.lastHigh < 0 ? "none" : String((BigInt(this.lastHigh) << 32n) | BigInt(this.lastLow));
      throw new ProtocolError("nonce-replayed", `CURVE ${what} nonce ${wire.readBigUInt64BE(offset)} does not increase (last was ${last})`);
    }
    this.lastHigh = high;
    this.lastLow = low;
  }
}

const MESSAGE_NAME = Buffer.from("\x07MESSAGE", "ascii");
/** Where a MESSAGE's box starts: after "\x07MESSAGE" and the short nonce. */
const BOX_AT = MESSAGE_NAME.length + SHORT_NONCE_BYTES;
/** "\x07MESSAGE", the short nonce, and at least a box holding the flags byte. */
const MESSAGE_MIN = MESSAGE_NAME.length + SHORT_NONCE_BYTES + BOX_OVERHEAD + 1;
/** Flag bits inside a MESSAGE box (RFC 26 / libzmq 4.3): not the ZMTP frame flags. */
const BOXED_MORE = 0x01;
const BOXED_COMMAND = 0x02;

/**
 * The CURVE traffic after the handshake: every ZMTP frame, commands such as
 * PING and SUBSCRIBE included, travels boxed in a MESSAGE command under the
 * connection's precomputed key.
 *
 * Like libzmq 4.3 (checked on the wire against pyzmq 24 / libzmq 4.3.4), the
 * MESSAGE goes out in a ZMTP frame with no flags set; the MORE and COMMAND
 * flags of the frame it carries are inside the box, so an observer does not
 * even learn where a multipart message ends. A MESSAGE arriving in a command
 * frame is accepted too, as RFC 25 describes it.
 */
export class CurveMessageCodec implements MessageCodec {
  // An ES private field: util.inspect of the engine never shows the session key.
  readonly #key: Buffer;
  private readonly sendNonce: Buffer;
  private readonly receiveNonce: Buffer;

  /**
   * @param key - crypto_box_beforenm of the peer's transient public key and our transient secret.
   * @param server - we are the CURVE server (our MESSAGEs use the "S" prefix).
   * @param ours - our short nonces, which the handshake commands already used.
   * @param theirs - the peer's short nonces, past its INITIATE or READY: MESSAGEs must exceed them.
   */
  constructor(
    key: Buffer,
    server: boolean,
    private readonly ours: ShortNonce,
    private readonly theirs: PeerNonce,
  ) {
    this.#key = key;
    this.sendNonce = Buffer.alloc(NONCE_BYTES);
    (server ? NoncePrefix.MESSAGE_SERVER : NoncePrefix.MESSAGE_CLIENT).copy(this.sendNonce, 0);
    this.receiveNonce = Buffer.alloc(NONCE_BYTES);
    (server ? NoncePrefix.MESSAGE_CLIENT : NoncePrefix.MESSAGE_SERVER).copy(this.receiveNonce, 0);
  }

  encode(body: Buffer, frameFlags: number): Buffer {
    const boxed = (frameFlags & FrameFlags.MORE ? BOXED_MORE : 0) | (frameFlags & FrameFlags.COMMAND ? BOXED_COMMAND : 0);
    // allocUnsafe: the name, the short nonce and the box (sealed in place, flags byte first) fill it all.
    const out = Buffer.allocUnsafe(BOX_AT + BOX_OVERHEAD + 1 + body.length);
    // Byte loops, not Buffer.copy: for 8 bytes the call costs more than the copy.
    for (let i = 0; i < MESSAGE_NAME.length; i++) out[i] = MESSAGE_NAME[i]!;
    this.ours.writeNext(out, MESSAGE_NAME.length);
    const nonce = this.sendNonce;
    for (let i = 0; i < SHORT_NONCE_BYTES; i++) nonce[16 + i] = out[MESSAGE_NAME.length + i]!;
    sealInto(out, BOX_AT, boxed, body, nonce, this.#key);
    return out;
  }

  decode(frame: Buffer): { readonly flags: number; readonly body: Buffer } {
    if (frame.length < MESSAGE_MIN || MESSAGE_NAME.compare(frame, 0, MESSAGE_NAME.length) !== 0) {
      throw new ProtocolError("malformed-command", "CURVE: expected a MESSAGE command after the handshake");
    }
    const at = MESSAGE_NAME.length;
    // The nonce's increase is checked, and the counter moved, only once the box is proven
    // genuine: a forged MESSAGE must not be able to move it (it fails to open and closes anyway).
    const nonce = this.receiveNonce;
    for (let i = 0; i < SHORT_NONCE_BYTES; i++) nonce[16 + i] = frame[at + i]!;
    // The frame gets a buffer of its own (the application may keep it); the flags byte stays out of it.
    const body = Buffer.allocUnsafe(frame.length - MESSAGE_MIN);
    // A plain Uint8Array view: cheaper to make than Buffer.subarray's.
    const box = new Uint8Array(frame.buffer, frame.byteOffset + BOX_AT, frame.length - BOX_AT);
    const boxed = openInto(body, box, nonce, this.#key);
    if (boxed < 0) throw new ProtocolError("decrypt-failed", `CURVE MESSAGE ${frame.readBigUInt64BE(at)} failed to open`);
    this.theirs.advance(frame, at, "MESSAGE");
    const flags = (boxed & BOXED_MORE ? FrameFlags.MORE : 0) | (boxed & BOXED_COMMAND ? FrameFlags.COMMAND : 0);
    return { flags, body };
  }
}
