import { createPrivateKey, createPublicKey, diffieHellman, randomBytes as nodeRandomBytes, type KeyObject } from "node:crypto";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa";
import { componentLogger } from "../../log";

/**
 * The primitives CurveZMQ (RFC 26) needs, and nothing else: NaCl's
 * `crypto_box` split into `beforenm` (X25519, then HSalsa20) and the
 * XSalsa20-Poly1305 secretbox under the precomputed key.
 *
 * Two backends compute the same bytes (test/security/curve-crypto.test.ts
 * checks each against tweetnacl):
 *
 * - **libsodium** through `libsodium-wrappers` (WebAssembly): the fast one,
 *   about 2.5x the pure-JavaScript throughput at 1 KiB and 7x at beforenm
 *   (bench/results/curve-crypto-candidates.txt). Its module compiles
 *   asynchronously, while the engine's handshake and message path call these
 *   functions synchronously.
 * - **portable**: X25519 from Node's crypto (OpenSSL) and HSalsa20 +
 *   XSalsa20-Poly1305 from `@noble/ciphers` (audited, pure JavaScript),
 *   usable the moment the module loads.
 *
 * So every call is synchronous and served by whichever backend is active:
 * the portable one until libsodium is ready, then libsodium. Loading starts
 * on the first call or on {@link curveCryptoReady}, which CURVE sockets call
 * when they are configured, so the switch normally happens before their first
 * handshake. If WebAssembly is unavailable the portable backend stays. Since
 * both give identical bytes, a connection may start on one and go on with the
 * other.
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

/** Which implementation serves the calls. */
export type CurveCryptoBackendName = "libsodium" | "portable";

/** One implementation of the primitives; inputs are already length-checked. */
export interface CurveCryptoBackend {
  readonly name: CurveCryptoBackendName;
  scalarMultBase(secretKey: Uint8Array): Buffer;
  beforenm(theirPublicKey: Uint8Array, ourSecretKey: Uint8Array): Buffer | undefined;
  seal(plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer;
  /** Seals the byte `head` then `body` into `out` from `at`; `out` has room (checked by the caller). */
  sealInto(out: Uint8Array, at: number, head: number, body: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined;
  /** Opens `box` (1 + out.length bytes of plaintext): writes all but the head byte into `out`, returns the head or -1. */
  openInto(out: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): number;
}

const log = componentLogger("curve-crypto");

/**
 * V8 keeps typed arrays of up to 64 bytes inside the JS heap and moves one out
 * the first time its `.buffer` is read, which cost more than sealing a 16-byte
 * message (2x fewer seal+open per second at 16 B). So small results are
 * copied, and only larger ones, already outside the heap, are wrapped in place.
 */
const ON_HEAP_MAX = 64;
const asBuffer = (bytes: Uint8Array): Buffer =>
  bytes.byteLength <= ON_HEAP_MAX ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// DER wrappers that turn a raw 32-byte X25519 key into what OpenSSL parses (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
}

// "expand 32-byte k" as four little-endian words: Salsa20's constant.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** Node's X25519 and @noble/ciphers: no start-up, slower per call. */
export const portableBackend: CurveCryptoBackend = {
  name: "portable",
  scalarMultBase(secretKey) {
    const der = createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" });
    return Buffer.from(der.subarray(der.length - KEY_BYTES));
  },
  beforenm(theirPublicKey, ourSecretKey) {
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: privateKeyObject(ourSecretKey), publicKey: publicKeyObject(theirPublicKey) });
    } catch {
      return undefined;
    }
    // A low-order public key makes the shared secret all zeros; libsodium refuses it, and so do we.
    if (shared.every((byte) => byte === 0)) return undefined;
    const key = new Uint32Array(8);
    for (let i = 0; i < 8; i++) key[i] = shared.readUInt32LE(i * 4);
    const out = new Uint32Array(8);
    hsalsa(SIGMA, key, new Uint32Array(4), out);
    const result = Buffer.alloc(KEY_BYTES);
    for (let i = 0; i < 8; i++) result.writeUInt32LE(out[i]!, i * 4);
    return result;
  },
  seal(plaintext, nonce, key) {
    return asBuffer(xsalsa20poly1305(key, nonce).encrypt(plaintext));
  },
  sealInto(out, at, head, body, nonce, key) {
    const plaintext = new Uint8Array(1 + body.length);
    plaintext[0] = head;
    plaintext.set(body, 1);
    out.set(xsalsa20poly1305(key, nonce).encrypt(plaintext), at);
  },
  open(box, nonce, key) {
    try {
      return asBuffer(xsalsa20poly1305(key, nonce).decrypt(box));
    } catch {
      return undefined;
    }
  },
  openInto(out, box, nonce, key) {
    return splitOpened(portableBackend.open(box, nonce, key), out);
  },
};

/** The head byte of an opened plaintext, the rest copied into `out`; -1 for a box that did not open. */
function splitOpened(plaintext: Uint8Array | undefined, out: Uint8Array): number {
  if (plaintext === undefined) return -1;
  out.set(plaintext.subarray(1));
  return plaintext[0]!;
}

type Sodium = typeof import("libsodium-wrappers");

/**
 * The parts of libsodium's Emscripten module (`sodium.libsodium`, not in the
 * wrappers' typings) that the per-message path calls directly. A 64-bit
 * length is passed as two 32-bit halves, low first, as the wrappers do.
 */
interface SodiumModule {
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(address: number): void;
  _crypto_box_easy_afternm(c: number, m: number, mlenLow: number, mlenHigh: number, n: number, k: number): number;
  _crypto_box_open_easy_afternm(m: number, c: number, clenLow: number, clenHigh: number, n: number, k: number): number;
}

const NO_HEAD = -1;
/** A scratch region never shrinks below this many bytes per side: most frames fit the first one. */
const MIN_SCRATCH = 4096;

/**
 * crypto_box_easy_afternm and its open called on one reused region of the
 * WebAssembly heap. The wrappers' functions, per call, allocate and free
 * four heap blocks, check their arguments again, and copy the result into a
 * fresh Uint8Array, which above 64 bytes means an ArrayBuffer outside the JS
 * heap: at 1 KiB that allocation cost more than the cipher. Here the input
 * goes into the heap once and the output comes out once, straight where the
 * caller wants it.
 *
 * Layout: key (32), nonce (24), input side, output side. The key's copy is
 * overwritten with zeros after every call, so the session key is never left
 * in WebAssembly memory (the wrappers free their copies without wiping them).
 */
class SodiumScratch {
  private base = 0;
  private side = 0;

  constructor(private readonly lib: SodiumModule) {}

  /** Makes room for `bytes` on each side, and returns the heap with the key and nonce written. */
  private prepare(bytes: number, nonce: Uint8Array, key: Uint8Array): Uint8Array {
    if (bytes > this.side) {
      const side = Math.max(MIN_SCRATCH, 2 ** Math.ceil(Math.log2(bytes)));
      const base = this.lib._malloc(KEY_BYTES + NONCE_BYTES + 2 * side);
      if (base === 0) throw new RangeError("libsodium could not allocate a buffer for a box");
      if (this.base !== 0) this.lib._free(this.base);
      this.base = base;
      this.side = side;
    }
    // Read after _malloc: growing the WebAssembly memory replaces the view.
    const heap = this.lib.HEAPU8;
    heap.set(key, this.base);
    heap.set(nonce, this.base + KEY_BYTES);
    return heap;
  }

  seal(out: Uint8Array, at: number, head: number, body: Uint8Array, nonce: Uint8Array, key: Uint8Array): void {
    const length = (head === NO_HEAD ? 0 : 1) + body.length;
    const heap = this.prepare(length + BOX_OVERHEAD, nonce, key);
    const k = this.base;
    const m = k + KEY_BYTES + NONCE_BYTES;
    const c = m + this.side;
    if (head === NO_HEAD) heap.set(body, m);
    else {
      heap[m] = head;
      heap.set(body, m + 1);
    }
    const status = this.lib._crypto_box_easy_afternm(c, m, length, 0, k + KEY_BYTES, k);
    heap.fill(0, k, k + KEY_BYTES);
    // Fails only for a message over crypto_box_MESSAGEBYTES_MAX, which a JS Buffer cannot reach.
    if (status !== 0) throw new RangeError("crypto_box_easy_afternm failed");
    out.set(heap.subarray(c, c + length + BOX_OVERHEAD), at);
  }

  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined {
    const m = this.openInHeap(box, nonce, key);
    if (m < 0) return undefined;
    // allocUnsafe: every byte is written on the next line.
    const plaintext = Buffer.allocUnsafe(box.length - BOX_OVERHEAD);
    plaintext.set(this.lib.HEAPU8.subarray(m, m + plaintext.length));
    return plaintext;
  }

  openInto(out: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): number {
    const m = this.openInHeap(box, nonce, key);
    if (m < 0) return -1;
    const heap = this.lib.HEAPU8;
    out.set(heap.subarray(m + 1, m + 1 + out.length));
    return heap[m]!;
  }

  /** Opens `box` in the heap; the plaintext's address, or -1 when the box does not open. */
  private openInHeap(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): number {
    const heap = this.prepare(box.length, nonce, key);
    const k = this.base;
    const c = k + KEY_BYTES + NONCE_BYTES;
    const m = c + this.side;
    heap.set(box, c);
    const status = this.lib._crypto_box_open_easy_afternm(m, c, box.length, 0, k + KEY_BYTES, k);
    heap.fill(0, k, k + KEY_BYTES);
    return status === 0 ? m : -1;
  }
}

function sodiumModule(sodium: Sodium): SodiumModule | undefined {
  const lib = (sodium as Sodium & { libsodium?: Partial<SodiumModule> }).libsodium;
  const usable =
    lib !== undefined &&
    lib.HEAPU8 instanceof Uint8Array &&
    typeof lib._malloc === "function" &&
    typeof lib._free === "function" &&
    typeof lib._crypto_box_easy_afternm === "function" &&
    typeof lib._crypto_box_open_easy_afternm === "function";
  return usable ? (lib as SodiumModule) : undefined;
}

/**
 * libsodium's own functions, once its WebAssembly module is ready. The
 * per-message box and open go through {@link SodiumScratch} when the module
 * exposes what it needs (libsodium-wrappers 0.7 and 0.8 do), else through
 * the wrappers' functions.
 */
export function sodiumBackend(sodium: Sodium): CurveCryptoBackend {
  const lib = sodiumModule(sodium);
  const scratch = lib === undefined ? undefined : new SodiumScratch(lib);
  const wrapped: CurveCryptoBackend = {
    name: "libsodium",
    scalarMultBase: (secretKey) => asBuffer(sodium.crypto_scalarmult_base(secretKey)),
    beforenm(theirPublicKey, ourSecretKey) {
      try {
        // libsodium fails (throws here) for a low-order key, whose shared secret is all zeros.
        return asBuffer(sodium.crypto_box_beforenm(theirPublicKey, ourSecretKey));
      } catch {
        return undefined;
      }
    },
    seal: (plaintext, nonce, key) => asBuffer(sodium.crypto_box_easy_afternm(plaintext, nonce, key)),
    sealInto(out, at, head, body, nonce, key) {
      const plaintext = new Uint8Array(1 + body.length);
      plaintext[0] = head;
      plaintext.set(body, 1);
      out.set(sodium.crypto_box_easy_afternm(plaintext, nonce, key), at);
    },
    open(box, nonce, key) {
      try {
        return asBuffer(sodium.crypto_box_open_easy_afternm(box, nonce, key));
      } catch {
        return undefined;
      }
    },
    openInto(out, box, nonce, key) {
      return splitOpened(wrapped.open(box, nonce, key), out);
    },
  };
  if (scratch === undefined) return wrapped;
  return {
    ...wrapped,
    seal(plaintext, nonce, key) {
      const box = Buffer.allocUnsafe(plaintext.length + BOX_OVERHEAD);
      scratch.seal(box, 0, NO_HEAD, plaintext, nonce, key);
      return box;
    },
    sealInto: (out, at, head, body, nonce, key) => scratch.seal(out, at, head, body, nonce, key),
    open: (box, nonce, key) => scratch.open(box, nonce, key),
    openInto: (out, box, nonce, key) => scratch.openInto(out, box, nonce, key),
  };
}

let active: CurveCryptoBackend = portableBackend;
let loading: Promise<CurveCryptoBackendName> | undefined;

function loadSodium(): Promise<CurveCryptoBackendName> {
  let sodium: Sodium;
  try {
    // Loaded on demand: the module is ~0.9 MB of JavaScript and WebAssembly that
    // applications without CURVE should not pay for at start-up.
    sodium = require("libsodium-wrappers") as Sodium;
  } catch (error) {
    log.warn({ err: error }, "libsodium-wrappers did not load; CURVE keeps the portable crypto backend");
    return Promise.resolve(active.name);
  }
  return sodium.ready.then(
    () => {
      active = sodiumBackend(sodium);
      log.debug({ version: sodium.SODIUM_VERSION_STRING }, "CURVE crypto now served by libsodium");
      return active.name;
    },
    (error: unknown) => {
      log.warn({ err: error }, "libsodium's WebAssembly did not start; CURVE keeps the portable crypto backend");
      return active.name;
    },
  );
}

/**
 * Starts loading libsodium if nothing has yet, and resolves, with the backend
 * then in use, once loading has finished either way. Never rejects. Calling it
 * early (when a socket is given CURVE options) lets the first handshake run on
 * libsodium; not calling it costs only speed.
 */
export function curveCryptoReady(): Promise<CurveCryptoBackendName> {
  loading ??= loadSodium();
  return loading;
}

/** The backend serving calls right now. */
export function curveCryptoBackend(): CurveCryptoBackendName {
  return active.name;
}

function backend(): CurveCryptoBackend {
  if (loading === undefined) void curveCryptoReady();
  return active;
}

/** Cryptographically strong random bytes. */
export function randomBytes(size: number): Buffer {
  return nodeRandomBytes(size);
}

/** The public key that belongs to a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Buffer {
  checkKey(secretKey);
  return backend().scalarMultBase(secretKey);
}

/** A fresh key pair from the system's random source. */
export function generateKeyPair(): CurveKeyPairBytes {
  const secretKey = randomBytes(KEY_BYTES);
  return { publicKey: publicKeyOf(secretKey), secretKey };
}

/**
 * NaCl's `crypto_box_beforenm`: X25519 of our secret key and their public
 * key, hashed with HSalsa20 under a zero nonce. Returns `undefined` when
 * their key is a low-order point (the shared secret would be all zeros),
 * which libsodium refuses as well.
 */
export function precompute(theirPublicKey: Uint8Array, ourSecretKey: Uint8Array): Buffer | undefined {
  checkKey(theirPublicKey);
  checkKey(ourSecretKey);
  return backend().beforenm(theirPublicKey, ourSecretKey);
}

/**
 * NaCl's `crypto_box_afternm` in its "easy" layout: the 16-byte Poly1305 tag,
 * then the ciphertext. This is the layout CurveZMQ puts on the wire.
 */
export function seal(plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer {
  checkNonceAndKey(nonce, key);
  return backend().seal(plaintext, nonce, key);
}

/**
 * {@link seal} of the byte `head` followed by `body`, written into `out` from
 * `at` (BOX_OVERHEAD + 1 + body.length bytes): CurveZMQ's MESSAGE layout
 * (flags, then the frame) boxed straight into the outgoing command, without
 * first joining the two or copying the box again.
 */
export function sealInto(
  out: Uint8Array,
  at: number,
  head: number,
  body: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): void {
  checkNonceAndKey(nonce, key);
  if (!Number.isInteger(head) || head < 0 || head > 0xff) throw new RangeError("the head of a box is one byte");
  if (!Number.isInteger(at) || at < 0 || at + BOX_OVERHEAD + 1 + body.length > out.length) {
    throw new RangeError("the box does not fit in the output buffer at that offset");
  }
  backend().sealInto(out, at, head, body, nonce, key);
}

/** Opens a box made by {@link seal}; `undefined` when it is forged, truncated or under another key. */
export function open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined {
  checkNonceAndKey(nonce, key);
  if (box.length < BOX_OVERHEAD) return undefined;
  return backend().open(box, nonce, key);
}

/**
 * Opens a box whose plaintext is one head byte then `out.length` bytes (what
 * {@link sealInto} makes): writes those bytes into `out` and returns the head
 * byte, or -1 when the box is forged, truncated, of another length or under
 * another key (then `out` is left as it was). The MESSAGE path: the frame
 * goes straight into its own buffer, without the flags byte in front.
 */
export function openInto(out: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): number {
  checkNonceAndKey(nonce, key);
  if (box.length !== BOX_OVERHEAD + 1 + out.length) return -1;
  return backend().openInto(out, box, nonce, key);
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`a Curve25519 key is ${KEY_BYTES} bytes`);
}

function checkNonceAndKey(nonce: Uint8Array, key: Uint8Array): void {
  // Both backends would throw too, but with messages of their own; one message whichever serves.
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`an XSalsa20 nonce is ${NONCE_BYTES} bytes`);
  checkKey(key);
}
