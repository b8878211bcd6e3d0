import type { Command } from "../../codec/command";
import { decodeMetadata, encodeMetadata } from "../../codec/metadata";
import { ProtocolError } from "../../errors";
import { BOX_OVERHEAD, generateKeyPair, KEY_BYTES, open, precompute, publicKeyOf, randomBytes, seal } from "../../security/curve/crypto";
import {
  CurveMessageCodec,
  LONG_NONCE_BYTES,
  nonceOf,
  NoncePrefix,
  PeerNonce,
  SHORT_NONCE_BYTES,
  ShortNonce,
} from "./curve-box";
import type { SecretKey } from "./curve-keys";
import type { Mechanism, MechanismStep, OwnProperties } from "./mechanism";
import { command, fail, nameOf, refusedByServer } from "./steps";

/** RFC 26's version of CurveZMQ, the first two bytes of HELLO. */
export const CURVE_VERSION = Buffer.from([1, 0]);
/**
 * Zeros in HELLO after the version: they make HELLO as long as WELCOME, so
 * a forged HELLO cannot make a server send more than it received (RFC 26's
 * anti-amplification rule).
 */
export const HELLO_PADDING = 72;
/** Bytes of a cookie on the wire: its 16-byte long nonce and a box of C' and s'. */
export const COOKIE_BYTES = LONG_NONCE_BYTES + BOX_OVERHEAD + 2 * KEY_BYTES;
/** Bytes of a vouch: its 16-byte long nonce and a box of C' and S. */
export const VOUCH_BYTES = LONG_NONCE_BYTES + BOX_OVERHEAD + 2 * KEY_BYTES;
/** HELLO's data after the name: version, padding, C', short nonce, signature box of 64 zeros. */
export const HELLO_BYTES = 2 + HELLO_PADDING + KEY_BYTES + SHORT_NONCE_BYTES + BOX_OVERHEAD + 64;
/** WELCOME's data: long nonce and a box of S' and the cookie. */
export const WELCOME_BYTES = LONG_NONCE_BYTES + BOX_OVERHEAD + KEY_BYTES + COOKIE_BYTES;

/** The keys a CURVE client needs; any may be missing from the options, which fails its handshake. */
export interface CurveClientKeys {
  /** The server's long-term public key (S), `curveServerKey`. */
  readonly serverKey: Buffer | null;
  /** Our long-term public key (C); derived from the secret key when absent. */
  readonly publicKey: Buffer | null;
  /** Our long-term secret key (c). Never logged or put in an error. */
  readonly secretKey: SecretKey | null;
}

/**
 * CURVE client (RFC 25 over RFC 26): HELLO from a fresh transient key pair,
 * then, with the server's transient key and cookie from WELCOME, INITIATE
 * carrying our long-term key, the vouch that binds it to our transient key,
 * and our properties; the server's READY ends the handshake and every frame
 * after it travels in a MESSAGE box.
 *
 * Like libzmq, nothing is generated for a missing long-term key: a client
 * without `curveSecretKey` (or without `curveServerKey`) fails its handshake
 * with reason `invalid-key` instead of presenting an identity nobody gave it.
 */
export class CurveClient implements Mechanism {
  readonly name = "CURVE";
  readonly asServer = false;
  private state: "hello" | "welcome" | "ready" | "done" = "hello";
  private readonly ours = new ShortNonce();
  private readonly theirs = new PeerNonce();
  // Key material lives in ES private fields, which util.inspect does not show.
  readonly #keys: CurveClientKeys;
  #transient?: { readonly publicKey: Buffer; readonly secretKey: Buffer };
  /** beforenm(S, c'): HELLO's box and WELCOME's. */
  #helloKey?: Buffer;
  /** beforenm(S', c'): INITIATE, READY and every MESSAGE. */
  #sessionKey?: Buffer;

  constructor(
    private readonly properties: OwnProperties,
    keys: CurveClientKeys,
  ) {
    this.#keys = keys;
  }

  start(): MechanismStep {
    const { serverKey, secretKey, publicKey } = this.#keys;
    if (serverKey === null) return fail(new ProtocolError("invalid-key", "CURVE client has no curveServerKey"));
    if (secretKey === null) return fail(new ProtocolError("invalid-key", "CURVE client has no curveSecretKey"));
    if (publicKey !== null && !publicKey.equals(publicKeyOf(secretKey.reveal()))) {
      return fail(new ProtocolError("invalid-key", "CURVE client's curvePublicKey does not belong to its curveSecretKey"));
    }
    this.#transient = generateKeyPair();
    this.#helloKey = precompute(serverKey, this.#transient.secretKey);
    if (this.#helloKey === undefined) return fail(new ProtocolError("invalid-key", "curveServerKey is not a usable Curve25519 key"));
    const shortNonce = this.ours.take();
    const signature = seal(Buffer.alloc(64), nonceOf(NoncePrefix.HELLO, shortNonce), this.#helloKey);
    const hello = Buffer.concat([CURVE_VERSION, Buffer.alloc(HELLO_PADDING), this.#transient.publicKey, shortNonce, signature]);
    this.state = "welcome";
    return { status: "handshaking", send: [command("HELLO", hello)] };
  }

  receive(received: Command): MechanismStep {
    if (received.name === "ERROR") return fail(refusedByServer(received.reason, "our CURVE key"));
    const name = nameOf(received);
    if (received.name !== "UNKNOWN") return fail(new ProtocolError("unexpected-command", `CURVE client did not expect ${name}`));
    if (this.state === "welcome") {
      // Only a client sends HELLO: the peer is a CURVE client too.
      if (name === "HELLO") return fail(new ProtocolError("role-mismatch", "both peers are CURVE clients"));
      if (name !== "WELCOME") return fail(new ProtocolError("unexpected-command", `CURVE client expected WELCOME, got ${name}`));
      return this.welcome(received.data);
    }
    if (this.state === "ready") {
      if (name !== "READY") return fail(new ProtocolError("unexpected-command", `CURVE client expected READY, got ${name}`));
      return this.ready(received.data);
    }
    return fail(new ProtocolError("unexpected-command", `CURVE client did not expect ${name} now`));
  }

  zapReply(): MechanismStep {
    return fail(new ProtocolError("unexpected-command", "a CURVE client does not consult ZAP"));
  }

  private welcome(data: Buffer): MechanismStep {
    if (data.length !== WELCOME_BYTES) return fail(new ProtocolError("malformed-command", `CURVE WELCOME has ${data.length} bytes, not ${WELCOME_BYTES}`));
    const plain = open(data.subarray(LONG_NONCE_BYTES), nonceOf(NoncePrefix.WELCOME, data.subarray(0, LONG_NONCE_BYTES)), this.#helloKey!);
    // The box is made with the server's long-term secret: only the server whose key we were given can make it.
    if (plain === undefined) return fail(new ProtocolError("decrypt-failed", "CURVE WELCOME did not open: the server does not hold the curveServerKey we expect"));
    const serverTransient = plain.subarray(0, KEY_BYTES);
    const cookie = plain.subarray(KEY_BYTES);
    const transient = this.#transient!;
    this.#sessionKey = precompute(serverTransient, transient.secretKey);
    if (this.#sessionKey === undefined) return fail(new ProtocolError("decrypt-failed", "CURVE WELCOME carries an unusable transient key"));
    const { serverKey, secretKey } = this.#keys;
    const longTermPublic = this.#keys.publicKey ?? publicKeyOf(secretKey!.reveal());
    // The vouch: our long-term key speaks for the transient one, to this server only.
    const vouchKey = precompute(serverTransient, secretKey!.reveal());
    if (vouchKey === undefined) return fail(new ProtocolError("decrypt-failed", "CURVE WELCOME carries an unusable transient key"));
    const vouchNonce = randomBytes(LONG_NONCE_BYTES);
    const vouch = Buffer.concat([
      vouchNonce,
      seal(Buffer.concat([transient.publicKey, serverKey!]), nonceOf(NoncePrefix.VOUCH, vouchNonce), vouchKey),
    ]);
    const shortNonce = this.ours.take();
    const box = seal(
      Buffer.concat([longTermPublic, vouch, encodeMetadata(this.properties)]),
      nonceOf(NoncePrefix.INITIATE, shortNonce),
      this.#sessionKey,
    );
    // The transient secret has done its work: only the session key stays.
    transient.secretKey.fill(0);
    this.#helloKey!.fill(0);
    this.state = "ready";
    return { status: "handshaking", send: [command("INITIATE", Buffer.concat([cookie, shortNonce, box]))] };
  }

  private ready(data: Buffer): MechanismStep {
    if (data.length < SHORT_NONCE_BYTES + BOX_OVERHEAD) return fail(new ProtocolError("malformed-command", "CURVE READY is too short"));
    const plain = open(data.subarray(SHORT_NONCE_BYTES), nonceOf(NoncePrefix.READY, data.subarray(0, SHORT_NONCE_BYTES)), this.#sessionKey!);
    if (plain === undefined) return fail(new ProtocolError("decrypt-failed", "CURVE READY did not open"));
    this.theirs.advance(data, 0, "READY");
    const metadata = decodeMetadata(plain);
    this.state = "done";
    const codec = new CurveMessageCodec(this.#sessionKey!, false, this.ours, this.theirs);
    return { status: "ready", send: [], metadata, codec };
  }
}
