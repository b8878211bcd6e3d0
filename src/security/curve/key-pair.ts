import { decodeZ85, encodeZ85 } from "../../codec/z85";
import { curveCryptoReady, generateKeyPair, KEY_BYTES, publicKeyOf } from "./crypto";

/** A CURVE key pair as zeromq.js's `curveKeyPair()` returns it: two 40-character Z85 strings. */
export interface CurveKeyPair {
  /** The public key, Z85 (40 characters): give it to peers (`curveServerKey` on clients of a server). */
  publicKey: string;
  /** The secret key, Z85 (40 characters): keep it on this host (`curveSecretKey`). */
  secretKey: string;
}

/**
 * A key as the CURVE options and helpers accept it, the way zeromq.js and
 * libzmq do: 40 characters of Z85 text, or the 32 raw bytes.
 */
export type CurveKey = string | Uint8Array;

/** Z85 characters in a 32-byte key. */
const KEY_CHARS = (KEY_BYTES / 4) * 5;

/**
 * A CURVE key that is neither 40 Z85 characters nor 32 bytes. A RangeError
 * with zeromq.js's `EINVAL` code; the message names which key was wrong,
 * never its value.
 */
export class CurveKeyError extends RangeError {
  /** Always `EINVAL`: the argument is invalid. */
  readonly code = "EINVAL" as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CurveKeyError";
  }
}

/**
 * The 32 raw bytes of a CURVE key given as Z85 text or as bytes.
 *
 * @param key - 40 Z85 characters or 32 bytes.
 * @param what - Which key this is, for the error message (for example `"curveSecretKey"`).
 * @throws {@link CurveKeyError} when the key has another length or is not valid Z85; the message never
 * contains the key.
 */
export function curveKeyBytes(key: CurveKey, what = "CURVE key"): Buffer {
  // A socket is being given CURVE keys: start loading libsodium now, so that
  // its first handshake, a few round trips away, already runs on it.
  void curveCryptoReady();
  if (typeof key === "string") {
    if (key.length !== KEY_CHARS) {
      throw new CurveKeyError(
        `${what} must be ${KEY_CHARS} Z85 characters or ${KEY_BYTES} bytes; got ${key.length} characters`,
      );
    }
    try {
      return decodeZ85(key);
    } catch (error) {
      throw new CurveKeyError(`${what} is not valid Z85`, { cause: error });
    }
  }
  if (key.length !== KEY_BYTES) {
    throw new CurveKeyError(`${what} must be ${KEY_CHARS} Z85 characters or ${KEY_BYTES} bytes; got ${key.length} bytes`);
  }
  return Buffer.from(key);
}

/**
 * A new random CURVE key pair, as Z85 text: a drop-in for zeromq.js's
 * `curveKeyPair()`. The secret key comes from the operating system's
 * cryptographically strong random source.
 *
 * Give the server's `secretKey` to the server (`curveServer: true`,
 * `curveSecretKey`), and its `publicKey` to every client as `curveServerKey`;
 * each client uses a pair of its own as `curvePublicKey` and `curveSecretKey`.
 *
 * @example
 * ```ts
 * const server = curveKeyPair();
 * const rep = new Reply({ curveServer: true, curveSecretKey: server.secretKey });
 * ```
 */
export function curveKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = generateKeyPair();
  const pair = { publicKey: encodeZ85(publicKey), secretKey: encodeZ85(secretKey) };
  secretKey.fill(0);
  return pair;
}

/**
 * The public key that belongs to a CURVE secret key, as Z85 text: libzmq's
 * `zmq_curve_public` and pyzmq's `zmq.curve_public`. Lets a host that stores
 * only its secret key tell its peers the public one.
 *
 * @param secretKey - The secret key, 40 Z85 characters or 32 bytes.
 * @throws {@link CurveKeyError} when the secret key is malformed.
 */
export function curvePublic(secretKey: CurveKey): string {
  const secret = curveKeyBytes(secretKey, "secret key");
  try {
    return encodeZ85(publicKeyOf(secret));
  } finally {
    secret.fill(0);
  }
}
