import type { Command } from "../../codec/command";
import { decodeMetadata, encodeMetadata, PropertyMap, type Metadata } from "../../codec/metadata";
import { AuthenticationError, ProtocolError } from "../../errors";
import { generateKeyPair, KEY_BYTES, open, precompute, publicKeyOf, randomBytes, seal } from "../../security/curve/crypto";
import {
  CurveMessageCodec,
  LONG_NONCE_BYTES,
  nonceOf,
  NoncePrefix,
  PeerNonce,
  SHORT_NONCE_BYTES,
  ShortNonce,
} from "./curve-box";
import { COOKIE_BYTES, CURVE_VERSION, HELLO_BYTES, HELLO_PADDING, VOUCH_BYTES } from "./curve-client";
import type { SecretKey } from "./curve-keys";
import type { Mechanism, MechanismStep, OwnProperties, ZapReply } from "./mechanism";
import { askZap, command, fail, nameOf } from "./steps";

/** Bytes of INITIATE's data before the metadata: cookie, short nonce, and a box of C and the vouch. */
const INITIATE_MIN = COOKIE_BYTES + SHORT_NONCE_BYTES + 16 + KEY_BYTES + VOUCH_BYTES;

/**
 * CURVE server (RFC 25 over RFC 26, RFC 27 ZAP).
 *
 * HELLO must open under our long-term key; we answer WELCOME with a fresh
 * transient key and a cookie (the client's and our transient keys, boxed
 * under a key that exists only in this object, so one per connection). From
 * INITIATE we recover the transient secret from the cookie, check that the
 * vouch binds the client's long-term key to its transient one and names our
 * long-term key, and then forget the transient secret and the cookie key.
 * The client's long-term public key goes to ZAP as the single credential.
 *
 * Without a ZAP handler bound every client with a valid vouch is accepted.
 * That is libzmq 4.3's rule for CURVE (its PLAIN refuses instead), checked
 * against pyzmq 24 / libzmq 4.3.4: a CURVE server then encrypts and
 * authenticates itself to anyone who knows its public key, and the
 * application restricts clients by binding a ZAP handler (an allow-list).
 */
export class CurveServer implements Mechanism {
  readonly name = "CURVE";
  readonly asServer = true;
  private state: "hello" | "initiate" | "zap" | "done" = "hello";
  private readonly ours = new ShortNonce();
  private readonly theirs = new PeerNonce();
  private readonly publicKey?: Buffer;
  /** The client's transient public key (C'), from HELLO. */
  private clientTransient?: Buffer;
  // Key material lives in ES private fields, which util.inspect does not show.
  readonly #secretKey: Buffer | null;
  /** Our transient pair and the cookie key: wiped once INITIATE is checked. */
  #transient?: { readonly publicKey: Buffer; readonly secretKey: Buffer };
  #cookieKey?: Buffer;
  /** beforenm(C', s'): INITIATE, READY and every MESSAGE. */
  #sessionKey?: Buffer;
  private peerMetadata?: Metadata;

  /**
   * @param secretKey - our long-term secret key (s), `curveSecretKey`; `null` fails every handshake.
   * @param publicKey - our long-term public key (S) if the options name it; must match the secret key.
   */
  constructor(
    private readonly properties: OwnProperties,
    secretKey: SecretKey | null,
    publicKey: Buffer | null,
    private readonly zapDomain: string,
    private readonly routingId: Buffer,
    private readonly peerAddress: string,
  ) {
    this.#secretKey = secretKey?.reveal() ?? null;
    if (this.#secretKey !== null) this.publicKey = publicKeyOf(this.#secretKey);
    if (publicKey !== null && this.publicKey !== undefined && !publicKey.equals(this.publicKey)) this.publicKey = undefined;
  }

  start(): MechanismStep {
    if (this.#secretKey === null) return fail(new ProtocolError("invalid-key", "CURVE server has no curveSecretKey"));
    if (this.publicKey === undefined) {
      return fail(new ProtocolError("invalid-key", "CURVE server's curvePublicKey does not belong to its curveSecretKey"));
    }
    return { status: "handshaking", send: [] };
  }

  receive(received: Command): MechanismStep {
    const name = nameOf(received);
    if (received.name === "ERROR") return fail(new ProtocolError("peer-error", `peer refused the handshake: ${received.reason}`));
    if (received.name !== "UNKNOWN") return fail(new ProtocolError("unexpected-command", `CURVE server did not expect ${name}`));
    if (this.state === "hello") {
      if (name === "WELCOME") return fail(new ProtocolError("role-mismatch", "both peers are CURVE servers"));
      if (name !== "HELLO") return fail(new ProtocolError("unexpected-command", `CURVE server expected HELLO, got ${name}`));
      return this.hello(received.data);
    }
    if (this.state === "initiate" && name === "INITIATE") return this.initiate(received.data);
    // A second HELLO (a replay, or a confused client) lands here as well.
    return fail(new ProtocolError("unexpected-command", `CURVE server did not expect ${name} now`));
  }

  zapReply(reply: ZapReply | undefined): MechanismStep {
    if (this.state !== "zap") return fail(new ProtocolError("unexpected-command", "ZAP reply without a request"));
    this.state = "done";
    if (reply !== undefined && reply.statusCode !== "200") {
      const status = /^\d{3}$/.test(reply.statusCode) ? reply.statusCode : "500";
      return fail(new AuthenticationError(Number(status), `ZAP handler refused the CURVE client (status ${status})`), [
        { name: "ERROR", reason: status },
      ]);
    }
    // The user id comes from ZAP only: a client cannot claim one in INITIATE.
    const peer = [...this.peerMetadata!].filter(([key]) => key.toLowerCase() !== "user-id");
    const fromZap: [string, Buffer][] = reply === undefined ? [] : [...reply.metadata, ["User-Id", Buffer.from(reply.userId)]];
    const metadata = new PropertyMap([...peer, ...fromZap]);
    const shortNonce = this.ours.take();
    const box = seal(encodeMetadata(this.properties), nonceOf(NoncePrefix.READY, shortNonce), this.#sessionKey!);
    const codec = new CurveMessageCodec(this.#sessionKey!, true, this.ours, this.theirs);
    return { status: "ready", send: [command("READY", Buffer.concat([shortNonce, box]))], metadata, codec };
  }

  private hello(data: Buffer): MechanismStep {
    if (data.length !== HELLO_BYTES) return fail(new ProtocolError("malformed-command", `CURVE HELLO has ${data.length} bytes, not ${HELLO_BYTES}`));
    if (!data.subarray(0, 2).equals(CURVE_VERSION)) {
      return fail(new ProtocolError("unsupported-version", `CURVE HELLO version ${data[0]}.${data[1]}; only 1.0 is supported`));
    }
    let at = 2 + HELLO_PADDING;
    const clientTransient = Buffer.from(data.subarray(at, at + KEY_BYTES));
    at += KEY_BYTES;
    const shortNonce = data.subarray(at, at + SHORT_NONCE_BYTES);
    const helloKey = precompute(clientTransient, this.#secretKey!);
    // A box that does not open: the client has another server key than ours, or forged the HELLO.
    const signature = helloKey && open(data.subarray(at + SHORT_NONCE_BYTES), nonceOf(NoncePrefix.HELLO, shortNonce), helloKey);
    if (!signature || signature.some((byte) => byte !== 0)) {
      return fail(new ProtocolError("decrypt-failed", "CURVE HELLO did not open: the client does not have this server's public key"));
    }
    this.theirs.advance(data, at, "HELLO");
    this.clientTransient = clientTransient;
    this.#transient = generateKeyPair();
    this.#cookieKey = randomBytes(KEY_BYTES);
    const cookieNonce = randomBytes(LONG_NONCE_BYTES);
    const cookie = Buffer.concat([
      cookieNonce,
      seal(Buffer.concat([clientTransient, this.#transient.secretKey]), nonceOf(NoncePrefix.COOKIE, cookieNonce), this.#cookieKey),
    ]);
    const welcomeNonce = randomBytes(LONG_NONCE_BYTES);
    const box = seal(Buffer.concat([this.#transient.publicKey, cookie]), nonceOf(NoncePrefix.WELCOME, welcomeNonce), helloKey);
    this.state = "initiate";
    return { status: "handshaking", send: [command("WELCOME", Buffer.concat([welcomeNonce, box]))] };
  }

  private initiate(data: Buffer): MechanismStep {
    if (data.length < INITIATE_MIN) return fail(new ProtocolError("malformed-command", "CURVE INITIATE is too short"));
    const cookie = data.subarray(0, COOKIE_BYTES);
    const fromCookie = open(cookie.subarray(LONG_NONCE_BYTES), nonceOf(NoncePrefix.COOKIE, cookie.subarray(0, LONG_NONCE_BYTES)), this.#cookieKey!);
    // The cookie must be the one this connection's WELCOME carried: same C', same s'.
    const ourCookie =
      fromCookie !== undefined &&
      fromCookie.subarray(0, KEY_BYTES).equals(this.clientTransient!) &&
      fromCookie.subarray(KEY_BYTES).equals(this.#transient!.secretKey);
    // The transient secret and the cookie key are not needed again (RFC 26: forget them after INITIATE).
    const serverTransientSecret = Buffer.from(this.#transient!.secretKey);
    this.forgetTransients();
    if (!ourCookie) return fail(new ProtocolError("decrypt-failed", "CURVE INITIATE carries a cookie this server did not issue"));
    this.#sessionKey = precompute(this.clientTransient!, serverTransientSecret);
    if (this.#sessionKey === undefined) {
      serverTransientSecret.fill(0);
      return fail(new ProtocolError("decrypt-failed", "CURVE client's transient key is unusable"));
    }
    let at = COOKIE_BYTES;
    const shortNonce = data.subarray(at, at + SHORT_NONCE_BYTES);
    at += SHORT_NONCE_BYTES;
    const plain = open(data.subarray(at), nonceOf(NoncePrefix.INITIATE, shortNonce), this.#sessionKey);
    if (plain === undefined) {
      serverTransientSecret.fill(0);
      return fail(new ProtocolError("decrypt-failed", "CURVE INITIATE did not open"));
    }
    this.theirs.advance(data, COOKIE_BYTES, "INITIATE");
    const clientKey = Buffer.from(plain.subarray(0, KEY_BYTES));
    const vouch = plain.subarray(KEY_BYTES, KEY_BYTES + VOUCH_BYTES);
    const vouchKey = precompute(clientKey, serverTransientSecret);
    serverTransientSecret.fill(0);
    const vouched =
      vouchKey && open(vouch.subarray(LONG_NONCE_BYTES), nonceOf(NoncePrefix.VOUCH, vouch.subarray(0, LONG_NONCE_BYTES)), vouchKey);
    // The vouch proves the holder of the long-term key made this transient key, for this server.
    if (
      !vouched ||
      !vouched.subarray(0, KEY_BYTES).equals(this.clientTransient!) ||
      !vouched.subarray(KEY_BYTES).equals(this.publicKey!)
    ) {
      return fail(new ProtocolError("decrypt-failed", "CURVE INITIATE's vouch does not hold: the client does not own the key it presents"));
    }
    this.peerMetadata = decodeMetadata(plain.subarray(KEY_BYTES + VOUCH_BYTES));
    this.state = "zap";
    return askZap({ domain: this.zapDomain, address: this.peerAddress, identity: this.routingId, mechanism: "CURVE", credentials: [clientKey] });
  }

  private forgetTransients(): void {
    this.#transient?.secretKey.fill(0);
    this.#cookieKey?.fill(0);
    this.#cookieKey = Buffer.alloc(KEY_BYTES);
  }
}
