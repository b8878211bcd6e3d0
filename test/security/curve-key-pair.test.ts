import { spawnSync } from "node:child_process";
import * as zmq from "zeromq";
import { curveKeyPair, curvePublic, CurveKeyError, decodeZ85, encodeZ85 } from "../../src";
import { curveKeyBytes } from "../../src/security/curve/key-pair";
import { describeIfPeer, PYTHON, PYZMQ } from "../helpers/prerequisites";

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

function thrown(run: () => unknown): CurveKeyError {
  try {
    run();
  } catch (error) {
    return error as CurveKeyError;
  }
  throw new Error("expected a throw");
}

describe("curveKeyPair / curvePublic", () => {
  it("returns zeromq.js's shape: two 40-character Z85 strings that decode to 32 bytes", () => {
    const pair = curveKeyPair();
    expect(Object.keys(pair).sort()).toEqual(["publicKey", "secretKey"]);
    expect(pair.publicKey).toMatch(Z85_KEY);
    expect(pair.secretKey).toMatch(Z85_KEY);
    expect(decodeZ85(pair.publicKey)).toHaveLength(32);
    expect(decodeZ85(pair.secretKey)).toHaveLength(32);
    expect(encodeZ85(decodeZ85(pair.secretKey))).toBe(pair.secretKey);
  });

  it("gives a fresh pair each call, whose public key curvePublic derives from the secret", () => {
    const pairs = Array.from({ length: 20 }, () => curveKeyPair());
    expect(new Set(pairs.map((pair) => pair.secretKey)).size).toBe(20);
    expect(new Set(pairs.map((pair) => pair.publicKey)).size).toBe(20);
    for (const pair of pairs) {
      expect(curvePublic(pair.secretKey)).toBe(pair.publicKey);
      expect(curvePublic(decodeZ85(pair.secretKey))).toBe(pair.publicKey);
    }
    // Control: a neighbouring secret gives another public key, so the equality above is not vacuous.
    const other = decodeZ85(pairs[0]!.secretKey);
    other[7] ^= 1;
    expect(curvePublic(other)).not.toBe(pairs[0]!.publicKey);
  });

  it("matches RFC 7748's X25519 test vector (Alice's key pair)", () => {
    const secret = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex");
    const expected = Buffer.from("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "hex");
    expect(decodeZ85(curvePublic(secret))).toEqual(expected);
  });

  describe("rejects a malformed key with CurveKeyError (RangeError, EINVAL) that never contains the key", () => {
    const secret = curveKeyPair().secretKey;
    it.each([
      ["39 characters", secret.slice(0, 39)],
      ["41 characters", `${secret}0`],
      ["a character outside Z85", `${secret.slice(0, 39)} `],
      ["an overflowing group", `${secret.slice(0, 35)}#####`],
      ["31 bytes", Buffer.alloc(31, 7)],
      ["33 bytes", Buffer.alloc(33, 7)],
    ])("%s", (_name, key) => {
      const error = thrown(() => curvePublic(key));
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toBeInstanceOf(CurveKeyError);
      expect(error.code).toBe("EINVAL");
      expect(error.message).toMatch(/^secret key /);
      if (typeof key === "string") {
        expect(error.message).not.toContain(key.slice(0, 10));
        expect(String(error.cause ?? "")).not.toContain(key.slice(0, 10));
      }
    });

    it("names the option it was given", () => {
      expect(thrown(() => curveKeyBytes("short", "curveServerKey")).message).toMatch(/^curveServerKey must be 40 Z85/);
    });
  });
});

describe("against zeromq.js (libzmq + libsodium)", () => {
  it("our curvePublic of zeromq.js's secret keys equals zeromq.js's public keys", () => {
    for (let i = 0; i < 20; i++) {
      const theirs = zmq.curveKeyPair();
      expect(curvePublic(theirs.secretKey)).toBe(theirs.publicKey);
    }
  });
});

/** pyzmq's zmq.curve_public (libzmq's zmq_curve_public, libsodium underneath) of each Z85 secret key. */
function pyzmqCurvePublic(secretKeys: string[]): string[] {
  const script = [
    "import json, sys, zmq",
    "print(json.dumps([zmq.curve_public(s.encode('ascii')).decode('ascii') for s in json.load(sys.stdin)]))",
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(secretKeys), encoding: "utf8", timeout: 30_000 });
  if (run.status !== 0) throw new Error(`pyzmq curve_public failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

describeIfPeer(PYZMQ)("against pyzmq (libzmq's zmq_curve_public)", () => {
  it("derives the same public key as libzmq for 30 of our secret keys", () => {
    const pairs = Array.from({ length: 30 }, () => curveKeyPair());
    expect(pyzmqCurvePublic(pairs.map((pair) => pair.secretKey))).toEqual(pairs.map((pair) => pair.publicKey));
  });

  it("and for secret keys that are not clamped (libsodium clamps inside X25519, as Node does)", () => {
    const secrets = [Buffer.alloc(32, 0xff), Buffer.alloc(32, 0x00), Buffer.from(Array.from({ length: 32 }, (_, i) => i * 8))];
    const z85 = secrets.map((secret) => encodeZ85(secret));
    expect(z85.map((secret) => curvePublic(secret))).toEqual(pyzmqCurvePublic(z85));
  });
});

describe("curveKeyBytes starts the fast crypto backend early", () => {
  type CryptoModule = typeof import("../../src/security/curve/crypto");
  type KeysModule = typeof import("../../src/security/curve/key-pair");

  /** A fresh copy of the modules, with libsodium not yet loaded. */
  function freshModules(): { keys: KeysModule; crypto: CryptoModule } {
    let modules!: { keys: KeysModule; crypto: CryptoModule };
    jest.isolateModules(() => {
      modules = {
        keys: jest.requireActual("../../src/security/curve/key-pair"),
        crypto: jest.requireActual("../../src/security/curve/crypto"),
      };
    });
    return modules;
  }

  /** Milliseconds until `crypto` serves from libsodium, polled across event-loop turns, or Infinity after `limitMs`. */
  async function msUntilLibsodium(crypto: CryptoModule, limitMs: number): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < limitMs) {
      if (crypto.curveCryptoBackend() === "libsodium") return Date.now() - start;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return Infinity;
  }

  it("parsing a key (what the curve* options do) switches the backend to libsodium without anything awaiting it", async () => {
    const fresh = freshModules();
    expect(fresh.crypto.curveCryptoBackend()).toBe("portable");
    fresh.keys.curveKeyBytes(curveKeyPair().secretKey, "curveSecretKey");
    const took = await msUntilLibsodium(fresh.crypto, 15_000);
    expect(took).toBeLessThan(15_000);

    // Control: a fresh copy left alone stays portable for longer than that took.
    const idle = freshModules();
    expect(await msUntilLibsodium(idle.crypto, Math.max(200, took * 3))).toBe(Infinity);
    expect(idle.crypto.curveCryptoBackend()).toBe("portable");
  });
});
