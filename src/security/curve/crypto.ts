import { createPrivateKey, createPublicKey, diffieHellman, randomBytes as nodeRandomBytes, type KeyObject } from "node:crypto";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa";

/**
 * The primitives CurveZMQ (RFC 26) needs, and nothing else: X25519 from
 * Node's own crypto (OpenSSL, native), and HSalsa20 plus XSalsa20-Poly1305
 * from `@noble/ciphers` (audited, pure JavaScript), because Node's crypto has
 * no Salsa20 family. Together they are NaCl's `crypto_box`:
 * `box(m, n, pk, sk) = secretbox(m, n, beforenm(pk, sk))`.
 *
 * Nothing here logs or throws with key material in its message.
 */

/** Bytes in a Curve25519 public or secret key, and in a precomputed box key. */
export const KEY_BYTES = 32;
/** Bytes of the Poly1305 tag that leads every box. */
export const BOX_OVERHEAD = 16;
/** Bytes in an XSalsa20 nonce. */
export const NONCE_BYTES = 24;

/** A Curve25519 key pair as raw bytes. */
export interface CurveKeyPairBytes {
  readonly publicKey: Buffer;
  readonly secretKey: Buffer;
}

// DER wrappers that turn a raw 32-byte X25519 key into what OpenSSL parses (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
}

/** Cryptographically strong random bytes. */
export function randomBytes(size: number): Buffer {
  return nodeRandomBytes(size);
}

/** The public key that belongs to a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Buffer {
  checkKey(secretKey);
  const der = createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - KEY_BYTES));
}

/** A fresh key pair from the system's random source. */
export function generateKeyPair(): CurveKeyPairBytes {
  const secretKey = randomBytes(KEY_BYTES);
  return { publicKey: publicKeyOf(secretKey), secretKey };
}

// "expand 32-byte k" as four little-endian words: Salsa20's constant.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/**
 * NaCl's `crypto_box_beforenm`: X25519 of our secret key and their public
 * key, hashed with HSalsa20 under a zero nonce. Returns `undefined` when
 * their key is a low-order point (the shared secret would be all zeros),
 * which libsodium refuses as well.
 */
export function precompute(theirPublicKey: Uint8Array, ourSecretKey: Uint8Array): Buffer | undefined {
  checkKey(theirPublicKey);
  checkKey(ourSecretKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: privateKeyObject(ourSecretKey), publicKey: publicKeyObject(theirPublicKey) });
  } catch {
    return undefined;
  }
  if (shared.every((byte) => byte === 0)) return undefined;
  const key = new Uint32Array(8);
  for (let i = 0; i < 8; i++) key[i] = shared.readUInt32LE(i * 4);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, key, new Uint32Array(4), out);
  const result = Buffer.alloc(KEY_BYTES);
  for (let i = 0; i < 8; i++) result.writeUInt32LE(out[i]!, i * 4);
  return result;
}

/**
 * NaCl's `crypto_box_afternm` in its "easy" layout: the 16-byte Poly1305 tag,
 * then the ciphertext. This is the layout CurveZMQ puts on the wire.
 */
export function seal(plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer {
  const sealed = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
}

/** Opens a box made by {@link seal}; `undefined` when it is forged, truncated or under another key. */
export function open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined {
  if (box.length < BOX_OVERHEAD) return undefined;
  try {
    const plain = xsalsa20poly1305(key, nonce).decrypt(box);
    return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  } catch {
    return undefined;
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`a Curve25519 key is ${KEY_BYTES} bytes`);
}
