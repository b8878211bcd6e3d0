/**
 * CURVE's crypto primitives against tweetnacl (a direct port of NaCl), for
 * each backend of src/security/curve/crypto.ts and for the module's API as a
 * socket calls it: beforenm, the secretbox layout CurveZMQ puts on the wire,
 * and refusal of forged, truncated and misaddressed boxes and of low-order
 * public keys. Each refusal check is also run on a deliberately broken
 * backend, which it must catch.
 */
import { randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import * as crypto from "../../src/security/curve/crypto";
import {
  curveCryptoBackend,
  curveCryptoReady,
  portableBackend,
  sodiumBackend,
  type CurveCryptoBackend,
} from "../../src/security/curve/crypto";

/**
 * Curve25519 u-coordinates of small order (and non-canonical encodings of
 * them), little-endian: X25519 with any of them yields an all-zero secret.
 */
const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000", // 0
  "0100000000000000000000000000000000000000000000000000000000000000", // 1
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 (= 1)
].map((hex) => Buffer.from(hex, "hex"));

const SIZES = [0, 1, 16, 31, 1024, 65536];

/** The public key of `secretKey` per tweetnacl. */
const naclPublic = (secretKey: Uint8Array): Buffer => Buffer.from(nacl.scalarMult.base(secretKey));

/** The backends a test runs against, as `[name, backend]`; libsodium's after its module is ready. */
let backends: Array<[string, CurveCryptoBackend]> = [];

beforeAll(async () => {
  // The module in libsodium-wrappers compiles asynchronously; sodiumBackend needs it ready.
  const sodium = (await import("libsodium-wrappers")).default;
  await sodium.ready;
  backends = [
    ["portable", portableBackend],
    ["libsodium", sodiumBackend(sodium)],
  ];
});

/** Names of the checks a backend fails: known answers vs tweetnacl over random keys and sizes. */
function knownAnswerFailures(backend: CurveCryptoBackend): string[] {
  const failures: string[] = [];
  for (let round = 0; round < 5; round++) {
    const alice = randomBytes(32);
    const bob = randomBytes(32);
    const alicePublic = naclPublic(alice);
    const bobPublic = naclPublic(bob);
    if (!backend.scalarMultBase(alice).equals(alicePublic)) failures.push("public key");
    const key = backend.beforenm(bobPublic, alice);
    const expectedKey = Buffer.from(nacl.box.before(bobPublic, alice));
    if (!key?.equals(expectedKey)) failures.push("beforenm");
    if (!backend.beforenm(alicePublic, bob)?.equals(expectedKey)) failures.push("beforenm symmetry");
    for (const size of SIZES) {
      const plain = randomBytes(size);
      const nonce = randomBytes(24);
      const box = backend.seal(plain, nonce, expectedKey);
      if (!box.equals(Buffer.from(nacl.box(plain, nonce, bobPublic, alice)))) failures.push(`box ${size}`);
      const naclBox = nacl.secretbox(plain, nonce, expectedKey);
      if (!backend.open(naclBox, nonce, expectedKey)?.equals(plain)) failures.push(`open nacl box ${size}`);
      const opened = nacl.secretbox.open(box, nonce, expectedKey);
      if (opened === null || !Buffer.from(opened).equals(plain)) failures.push(`nacl opens ours ${size}`);
      // sealInto: a head byte then the body, boxed at an offset; the bytes around the box stay as they were.
      const head = size & 0xff;
      const out = Buffer.alloc(5 + 16 + 1 + size + 3, 0xee);
      backend.sealInto(out, 5, head, plain, nonce, expectedKey);
      const headed = Buffer.concat([Buffer.from([head]), plain]);
      const expected = Buffer.concat([Buffer.alloc(5, 0xee), nacl.secretbox(headed, nonce, expectedKey), Buffer.alloc(3, 0xee)]);
      if (!out.equals(expected)) failures.push(`sealInto ${size}`);
      const body = Buffer.alloc(size, 0xee);
      const naclHeaded = nacl.secretbox(headed, nonce, expectedKey);
      if (backend.openInto(body, naclHeaded, nonce, expectedKey) !== head || !body.equals(plain)) failures.push(`openInto ${size}`);
    }
  }
  return failures;
}

/** Names of the forgeries a backend's open accepts (it must return undefined for each). */
function acceptedForgeries(backend: CurveCryptoBackend): string[] {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const plain = randomBytes(100);
  const box = Buffer.from(nacl.secretbox(plain, nonce, key));
  const flip = (index: number): Buffer => {
    const copy = Buffer.from(box);
    copy[index]! ^= 0x01;
    return copy;
  };
  const otherNonce = Buffer.from(nonce);
  otherNonce[23]! ^= 0x80;
  const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [
    ["flipped tag byte", flip(0), nonce, key],
    ["flipped last tag byte", flip(15), nonce, key],
    ["flipped ciphertext byte", flip(16), nonce, key],
    ["flipped last byte", flip(box.length - 1), nonce, key],
    ["truncated by one", box.subarray(0, box.length - 1), nonce, key],
    ["extended by one", Buffer.concat([box, Buffer.from([0])]), nonce, key],
    ["tag only", box.subarray(0, 16), nonce, key],
    ["other nonce", box, otherNonce, key],
    ["other key", box, nonce, randomBytes(32)],
    ["all zeros", Buffer.alloc(box.length), nonce, key],
  ];
  const viaOpen = cases.filter(([, b, n, k]) => backend.open(b, n, k) !== undefined).map(([name]) => name);
  // openInto expects the plaintext's length from `out`: give it the length each case's box implies.
  const viaOpenInto = cases
    .filter(([, b, n, k]) => b.length > 16 && backend.openInto(Buffer.alloc(b.length - 17), b, n, k) !== -1)
    .map(([name]) => `${name} (openInto)`);
  return [...viaOpen, ...viaOpenInto];
}

/** Low-order public keys for which a backend's beforenm gives a key (it must give undefined). */
function acceptedLowOrderKeys(backend: CurveCryptoBackend): string[] {
  const secret = randomBytes(32);
  return LOW_ORDER_POINTS.filter((point) => backend.beforenm(point, secret) !== undefined).map((p) => p.toString("hex"));
}

describe("CURVE crypto backends against tweetnacl", () => {
  it("the low-order points listed are what they claim: X25519 with each is all zeros (tweetnacl)", () => {
    for (const point of LOW_ORDER_POINTS) {
      expect(Buffer.from(nacl.scalarMult(randomBytes(32), point)).equals(Buffer.alloc(32))).toBe(true);
    }
    // Control: an ordinary public key is not.
    expect(Buffer.from(nacl.scalarMult(randomBytes(32), naclPublic(randomBytes(32)))).equals(Buffer.alloc(32))).toBe(false);
  });

  it.each(["portable", "libsodium"])("%s: public key, beforenm, box and open match tweetnacl byte for byte", (name) => {
    const backend = backends.find(([n]) => n === name)![1];
    expect(backend.name).toBe(name);
    expect(knownAnswerFailures(backend)).toEqual([]);
  });

  it.each(["portable", "libsodium"])("%s: opens no forged, truncated or misaddressed box", (name) => {
    const backend = backends.find(([n]) => n === name)![1];
    expect(acceptedForgeries(backend)).toEqual([]);
  });

  it.each(["portable", "libsodium"])("%s: refuses every low-order public key (beforenm -> undefined)", (name) => {
    const backend = backends.find(([n]) => n === name)![1];
    expect(acceptedLowOrderKeys(backend)).toEqual([]);
  });

  it("libsodium: sizes that grow and shrink the reused WebAssembly buffer box and open like tweetnacl", () => {
    const backend = backends.find(([n]) => n === "libsodium")![1];
    const key = randomBytes(32);
    for (const size of [5000, 16, 70000, 4095, 4096 - 16, 4096 - 17, 0, 300000, 1024]) {
      const plain = randomBytes(size);
      const nonce = randomBytes(24);
      const box = backend.seal(plain, nonce, key);
      expect(box.equals(Buffer.from(nacl.secretbox(plain, nonce, key)))).toBe(true);
      expect(backend.open(box, nonce, key)?.equals(plain)).toBe(true);
    }
  });

  it("libsodium: the session key is not left in WebAssembly memory after a box or an open", async () => {
    const sodium = (await import("libsodium-wrappers")).default;
    const heap = (): Buffer => {
      const bytes = (sodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    };
    const backend = backends.find(([n]) => n === "libsodium")![1];
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const box = backend.seal(randomBytes(1024), nonce, key);
    expect(backend.open(box, nonce, key)).toBeDefined();
    backend.sealInto(Buffer.alloc(16 + 1 + 16), 0, 1, randomBytes(16), nonce, key);
    expect(heap().indexOf(key)).toBe(-1);
    // Control: the wrappers' own function frees its copy of the key without wiping it, and the search finds it.
    const other = randomBytes(32);
    sodium.crypto_box_easy_afternm(randomBytes(16), nonce, other);
    expect(heap().indexOf(other)).toBeGreaterThanOrEqual(0);
  });

  describe("controls: the checks catch broken backends", () => {
    it("a backend whose sealInto drops the head byte fails the known answers", () => {
      const broken: CurveCryptoBackend = {
        ...portableBackend,
        sealInto: (out, at, _head, body, nonce, key) => out.set(portableBackend.seal(body, nonce, key), at),
      };
      expect(knownAnswerFailures(broken)).toContain("sealInto 16");
    });

    it("a backend whose box uses another nonce layout fails the known answers", () => {
      const broken: CurveCryptoBackend = {
        ...portableBackend,
        seal: (plain, nonce, key) => portableBackend.seal(plain, Buffer.from(nonce).reverse(), key),
      };
      expect(knownAnswerFailures(broken)).toContain("box 16");
    });

    it("a lenient open (an empty message instead of a refusal) accepts the forgeries", () => {
      const broken: CurveCryptoBackend = {
        ...portableBackend,
        open: (box, nonce, key) => portableBackend.open(box, nonce, key) ?? Buffer.alloc(0),
      };
      expect(acceptedForgeries(broken)).toContain("flipped tag byte");
      expect(acceptedForgeries(broken)).toHaveLength(10);
    });

    it("an openInto that ignores a failed open accepts the forgeries", () => {
      const broken: CurveCryptoBackend = {
        ...portableBackend,
        openInto: (out, box, nonce, key) => Math.max(0, portableBackend.openInto(out, box, nonce, key)),
      };
      expect(acceptedForgeries(broken)).toContain("flipped tag byte (openInto)");
    });

    it("plain NaCl beforenm (no all-zero check, as tweetnacl) accepts low-order keys", () => {
      const broken: CurveCryptoBackend = {
        ...portableBackend,
        beforenm: (pk, sk) => Buffer.from(nacl.box.before(pk, sk)),
      };
      expect(acceptedLowOrderKeys(broken)).toHaveLength(LOW_ORDER_POINTS.length);
    });
  });
});

describe("the module API (what the CURVE mechanism calls)", () => {
  it("switches to libsodium once ready, and matches tweetnacl there", async () => {
    await expect(curveCryptoReady()).resolves.toBe("libsodium");
    expect(curveCryptoBackend()).toBe("libsodium");
    const alice = crypto.generateKeyPair();
    const bob = crypto.generateKeyPair();
    expect(alice.publicKey.equals(naclPublic(alice.secretKey))).toBe(true);
    const key = crypto.precompute(bob.publicKey, alice.secretKey)!;
    expect(key.equals(Buffer.from(nacl.box.before(bob.publicKey, alice.secretKey)))).toBe(true);
    const nonce = crypto.randomBytes(crypto.NONCE_BYTES);
    const plain = crypto.randomBytes(1024);
    const box = crypto.seal(plain, nonce, key);
    expect(box).toHaveLength(plain.length + crypto.BOX_OVERHEAD);
    expect(box.equals(Buffer.from(nacl.box(plain, nonce, bob.publicKey, alice.secretKey)))).toBe(true);
    expect(crypto.open(box, nonce, key)?.equals(plain)).toBe(true);
    expect(crypto.open(box.subarray(0, 15), nonce, key)).toBeUndefined();
    expect(crypto.open(Buffer.alloc(0), nonce, key)).toBeUndefined();
    for (const point of LOW_ORDER_POINTS) expect(crypto.precompute(point, alice.secretKey)).toBeUndefined();
  });

  it("serves calls synchronously before libsodium is ready (portable), then from libsodium, with the same bytes", async () => {
    let fresh!: typeof crypto;
    jest.isolateModules(() => {
      fresh = jest.requireActual<typeof crypto>("../../src/security/curve/crypto");
    });
    const secret = randomBytes(32);
    const peer = naclPublic(randomBytes(32));
    const nonce = randomBytes(24);
    const plain = randomBytes(64);
    // First call: loading has only just begun, so the portable backend answers.
    const before = { pub: fresh.publicKeyOf(secret), key: fresh.precompute(peer, secret)! };
    expect(fresh.curveCryptoBackend()).toBe("portable");
    const boxBefore = fresh.seal(plain, nonce, before.key);
    await expect(fresh.curveCryptoReady()).resolves.toBe("libsodium");
    expect(fresh.curveCryptoBackend()).toBe("libsodium");
    expect(fresh.publicKeyOf(secret)).toEqual(before.pub);
    expect(fresh.precompute(peer, secret)).toEqual(before.key);
    // A box sealed before the switch opens after it, and vice versa.
    expect(fresh.open(boxBefore, nonce, before.key)).toEqual(plain);
    expect(fresh.seal(plain, nonce, before.key)).toEqual(boxBefore);
  });

  it("sealInto boxes the head byte and the body in place, and refuses an output without room for the box", () => {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const body = randomBytes(1024);
    const out = Buffer.alloc(8 + 16 + 1 + 1024);
    crypto.sealInto(out, 8, 0x02, body, nonce, key);
    expect(crypto.open(out.subarray(8), nonce, key)).toEqual(Buffer.concat([Buffer.from([0x02]), body]));
    expect(() => crypto.sealInto(out, 9, 0x02, body, nonce, key)).toThrow(RangeError);
    expect(() => crypto.sealInto(out, -1, 0x02, body, nonce, key)).toThrow(RangeError);
    expect(() => crypto.sealInto(out, 8, 0x100, body, nonce, key)).toThrow(RangeError);
    const opened = Buffer.alloc(1024);
    expect(crypto.openInto(opened, out.subarray(8), nonce, key)).toBe(0x02);
    expect(opened).toEqual(body);
    // An output of another length than the box holds is a refusal, not a partial open.
    expect(crypto.openInto(Buffer.alloc(1023), out.subarray(8), nonce, key)).toBe(-1);
    out[8 + 20]! ^= 1;
    expect(crypto.openInto(Buffer.alloc(1024), out.subarray(8), nonce, key)).toBe(-1);
  });

  it("rejects keys and nonces of the wrong length with a RangeError that holds no key bytes", () => {
    const key = randomBytes(32);
    const short = key.subarray(0, 31);
    for (const run of [
      () => crypto.publicKeyOf(short),
      () => crypto.precompute(short, key),
      () => crypto.precompute(key, short),
      () => crypto.seal(Buffer.alloc(1), randomBytes(24), short),
      () => crypto.seal(Buffer.alloc(1), randomBytes(23), key),
      () => crypto.open(Buffer.alloc(20), randomBytes(25), key),
      () => crypto.sealInto(Buffer.alloc(64), 0, 0, Buffer.alloc(1), randomBytes(24), short),
    ]) {
      let caught: unknown;
      try {
        run();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RangeError);
      const message = (caught as Error).message;
      expect(message).toMatch(/is (32|24) bytes/);
      expect(message).not.toContain(key.toString("hex").slice(0, 8));
    }
  });
});
