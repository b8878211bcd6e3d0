/**
 * Which library should do CURVE's crypto (issue 12)? Measures, per candidate,
 * the two costs CurveZMQ pays:
 *
 * - per message: one crypto_box_afternm to send and one crypto_box_open_afternm
 *   to receive, under a precomputed key (the MESSAGE command), at 16 B, 1 KiB
 *   and 64 KiB;
 * - per handshake: crypto_box_beforenm (X25519 + HSalsa20), several per
 *   connection on each side (HELLO, WELCOME, INITIATE, the vouch).
 *
 *   npm run build && node dist/bench/tools/curve-crypto-candidates.js [--ms 6000] \
 *     > bench/results/curve-crypto-candidates.txt
 *
 * Before timing, every candidate must produce the same box as the others for
 * the same key and nonce and open the others' boxes, so the figures compare
 * implementations of one function.
 */
import { x25519 } from "@noble/curves/ed25519";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa";
import sodium from "libsodium-wrappers";
import nacl from "tweetnacl";
import { createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import { cpus, loadavg } from "node:os";
import * as current from "../../src/security/curve/crypto";

interface Candidate {
  readonly name: string;
  precompute(theirPublic: Uint8Array, ourSecret: Uint8Array): Uint8Array | undefined;
  seal(plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined | null;
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** HSalsa20 of an X25519 output under a zero nonce: the second half of crypto_box_beforenm. */
function hsalsaKey(shared: Uint8Array): Uint8Array {
  const view = new DataView(shared.buffer, shared.byteOffset, 32);
  const key = new Uint32Array(8);
  for (let i = 0; i < 8; i++) key[i] = view.getUint32(i * 4, true);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, key, new Uint32Array(4), out);
  const result = new Uint8Array(32);
  const outView = new DataView(result.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, out[i]!, true);
  return result;
}

// RFC 8410 DER prefixes that let OpenSSL (Node's crypto) take raw X25519 keys.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/** X25519 through Node's crypto (OpenSSL), raw keys wrapped in DER on every call. */
function nodeX25519(ourSecret: Uint8Array, theirPublic: Uint8Array): Uint8Array {
  return diffieHellman({
    privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, ourSecret]), format: "der", type: "pkcs8" }),
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, theirPublic]), format: "der", type: "spki" }),
  });
}

function nobleOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  try {
    return xsalsa20poly1305(key, nonce).decrypt(box);
  } catch {
    return undefined;
  }
}

function candidates(): Candidate[] {
  return [
    {
      name: "node-x25519+noble-ciphers",
      precompute: (pk, sk) => hsalsaKey(nodeX25519(sk, pk)),
      seal: (m, n, k) => xsalsa20poly1305(k, n).encrypt(m),
      open: nobleOpen,
    },
    {
      name: "noble-curves+noble-ciphers",
      precompute: (pk, sk) => hsalsaKey(x25519.getSharedSecret(sk, pk)),
      seal: (m, n, k) => xsalsa20poly1305(k, n).encrypt(m),
      open: nobleOpen,
    },
    {
      name: "tweetnacl",
      precompute: (pk, sk) => nacl.box.before(pk, sk),
      seal: (m, n, k) => nacl.secretbox(m, n, k),
      open: (c, n, k) => nacl.secretbox.open(c, n, k),
    },
    {
      name: "libsodium-wrappers (wasm)",
      precompute: (pk, sk) => sodium.crypto_box_beforenm(pk, sk),
      seal: (m, n, k) => sodium.crypto_box_easy_afternm(m, n, k),
      open: (c, n, k) => {
        try {
          return sodium.crypto_box_open_easy_afternm(c, n, k);
        } catch {
          return undefined;
        }
      },
    },
    {
      // What src/security/curve/crypto.ts does now, timed after its own start-up finished.
      name: "crypto.ts as built",
      precompute: (pk, sk) => current.precompute(pk, sk),
      seal: (m, n, k) => current.seal(m, n, k),
      open: (c, n, k) => current.open(c, n, k),
    },
  ];
}

/** Runs `op` in batches until `ms` have passed; returns operations per second. */
function rateOnce(op: () => void, ms: number): number {
  let count = 0;
  let batch = 16;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(ms * 1e6));
  for (;;) {
    for (let i = 0; i < batch; i++) op();
    count += batch;
    const elapsed = process.hrtime.bigint() - start;
    if (elapsed >= budget) return (count * 1e9) / Number(elapsed);
    if (elapsed < budget / 20n) batch *= 2;
  }
}

function same(a: Uint8Array | undefined | null, b: Uint8Array | undefined | null): boolean {
  return a != null && b != null && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Every candidate agrees with every other on beforenm, seal and open, or the run stops. */
function crossCheck(list: Candidate[]): void {
  const alice = current.generateKeyPair();
  const bob = current.generateKeyPair();
  const nonce = current.randomBytes(current.NONCE_BYTES);
  const plain = current.randomBytes(1500);
  const reference = list[0]!;
  const key = reference.precompute(bob.publicKey, alice.secretKey)!;
  const box = reference.seal(plain, nonce, key);
  for (const c of list) {
    if (!same(c.precompute(bob.publicKey, alice.secretKey), key)) throw new Error(`${c.name}: beforenm differs`);
    if (!same(c.precompute(alice.publicKey, bob.secretKey), key)) throw new Error(`${c.name}: beforenm not symmetric`);
    if (!same(c.seal(plain, nonce, key), box)) throw new Error(`${c.name}: box differs`);
    if (!same(c.open(box, nonce, key), plain)) throw new Error(`${c.name}: cannot open the reference box`);
    const forged = Buffer.from(box);
    forged[forged.length - 1]! ^= 1;
    if (c.open(forged, nonce, key) != null) throw new Error(`${c.name}: opened a forged box`);
  }
}

/** Timed passes over every cell. */
const ROUNDS = 3;

const SIZES: ReadonlyArray<[string, number]> = [
  ["16 B", 16],
  ["1 KiB", 1024],
  ["64 KiB", 65536],
];

async function main(): Promise<void> {
  const msArg = process.argv.indexOf("--ms");
  const ms = msArg > 0 ? Number(process.argv[msArg + 1]) : 6000;
  // libsodium's WebAssembly module compiles asynchronously; once ready its calls are synchronous.
  await sodium.ready;
  // crypto.ts switches to libsodium once its own load finishes; time it after that, as a CURVE socket runs.
  const shipped = await current.curveCryptoReady();
  const list = candidates();
  crossCheck(list);

  const alice = current.generateKeyPair();
  const bob = current.generateKeyPair();
  const nonce = current.randomBytes(current.NONCE_BYTES);
  // One timed operation per cell: seal+open at each size, then beforenm.
  const cells = list.map((c) => {
    const key = c.precompute(bob.publicKey, alice.secretKey)!;
    const ops = SIZES.map(([, size]) => {
      const plain = current.randomBytes(size);
      return (): void => {
        if (c.open(c.seal(plain, nonce, key), nonce, key) == null) throw new Error("round trip failed");
      };
    });
    ops.push(() => void c.precompute(bob.publicKey, alice.secretKey));
    for (const op of ops) for (let i = 0; i < 200; i++) op(); // let V8 optimise before timing
    return ops;
  });
  // The machine is shared: ROUNDS passes over every cell, candidates interleaved, so a burst of
  // load from elsewhere hits one pass of each rather than all of one candidate; each cell keeps
  // its best pass, the one least disturbed.
  const best = cells.map((ops) => ops.map(() => 0));
  for (let round = 0; round < ROUNDS; round++) {
    cells.forEach((ops, c) => ops.forEach((op, o) => (best[c]![o] = Math.max(best[c]![o]!, rateOnce(op, ms / ROUNDS)))));
  }
  const rows = list.map((c, i) => [c.name, ...best[i]!.map((r) => r.toFixed(0))]);

  const header = ["candidate", ...SIZES.map(([label]) => `seal+open/s ${label}`), "beforenm/s"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(`# CURVE crypto candidates, ${new Date().toISOString()}`);
  console.log(
    `# node ${process.version}, ${cpus()[0]?.model ?? "unknown cpu"} x${cpus().length}, ${ms} ms per cell` +
      ` (best of ${ROUNDS} interleaved passes), one thread; libsodium ${sodium.SODIUM_VERSION_STRING};` +
      ` load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`# crypto.ts backend when timed: ${shipped}`);
  console.log("# all candidates cross-checked: same beforenm, same boxes, each opens the others' and rejects a forged one");
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const oneKiB = rows
    .filter((r) => r[0] !== "crypto.ts as built")
    .map((r) => [r[0]!, Number(r[2])] as const).sort((a, b) => b[1] - a[1]);
  console.log(`# fastest seal+open at 1 KiB: ${oneKiB[0]![0]} (${(oneKiB[0]![1] / oneKiB[1]![1]).toFixed(2)}x the next)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
