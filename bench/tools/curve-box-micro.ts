/**
 * In-process cost of CURVE's per-frame work (issue 12): the MessageCodec's
 * encode (flags + body into a sealed MESSAGE command, then into the frame
 * encoder's batch, as the engine does) and decode (open a MESSAGE into the
 * frame the application gets), at 16 B and 1 KiB, on the libsodium backend.
 * No sockets, so the figures are steadier than the throughput scenario's on
 * a loaded machine: medians of several rounds, in nanoseconds per frame.
 *
 *   npm run build && node dist/bench/tools/curve-box-micro.js [--ms 400] [--rounds 7]
 *
 * Every round first checks that what one side encodes the other decodes to
 * the same bytes, so a fast but wrong codec cannot be measured.
 */
import { FrameEncoder } from "../../src/codec/frame-encoder";
import { CurveMessageCodec, PeerNonce, ShortNonce } from "../../src/engine/mechanism/curve-box";
import { curveCryptoBackend, curveCryptoReady, generateKeyPair, precompute } from "../../src/security/curve/crypto";
import { loadavg } from "node:os";

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const MS = arg("--ms", 400);
const ROUNDS = arg("--rounds", 7);
const SIZES = [16, 1024];

/** Both ends of one connection; crypto_box_beforenm gives both the same session key. */
function pair(): { key: Buffer; client: CurveMessageCodec; server: CurveMessageCodec } {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const key = precompute(b.publicKey, a.secretKey)!;
  return {
    key,
    client: new CurveMessageCodec(key, false, new ShortNonce(), new PeerNonce()),
    server: new CurveMessageCodec(precompute(a.publicKey, b.secretKey)!, true, new ShortNonce(), new PeerNonce()),
  };
}

/**
 * CPU nanoseconds per call of `step`, run in batches for about MS milliseconds
 * of CPU time. CPU rather than wall time: other work on a shared machine
 * stretches the wall clock, not the process's CPU time.
 */
function time(step: () => void): number {
  for (let i = 0; i < 2000; i++) step();
  let calls = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < MS * 1000) {
    for (let i = 0; i < 1000; i++) step();
    calls += 1000;
    const now = process.cpuUsage(start);
    used = now.user + now.system;
  }
  return (used * 1000) / calls;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await curveCryptoReady();
  process.stdout.write(`backend ${curveCryptoBackend()}, ${ROUNDS} rounds of ${MS} ms, load ${loadavg()[0]!.toFixed(1)}\n`);
  for (const size of SIZES) {
    const body = Buffer.alloc(size, 0x5a);
    const encodes: number[] = [];
    const decodes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { key, client, server } = pair();
      const check = server.decode(client.encode(body, 0));
      if (!check.body.equals(body) || check.flags !== 0) throw new Error("codec round trip differs");
      const encoder = new FrameEncoder();
      encodes.push(
        time(() => {
          encoder.frame(client.encode(body, 0), 0);
          if (encoder.size > 256 * 1024) encoder.take();
        }),
      );
      // Decode needs increasing nonces: a pool of frames encoded in order, replayed to fresh decoders.
      const frames: Buffer[] = [];
      for (let i = 0; i < 4096; i++) frames.push(client.encode(body, 0));
      let decoder = server;
      let next = frames.length;
      decodes.push(
        time(() => {
          if (next === frames.length) {
            decoder = new CurveMessageCodec(key, true, new ShortNonce(), new PeerNonce());
            next = 0;
          }
          decoder.decode(frames[next++]!);
        }),
      );
    }
    process.stdout.write(
      `${String(size).padStart(5)} B  encode ${median(encodes).toFixed(0)} ns/frame  decode ${median(decodes).toFixed(0)} ns/frame` +
        `  (encode ${encodes.map((x) => x.toFixed(0)).join(" ")}; decode ${decodes.map((x) => x.toFixed(0)).join(" ")})\n`,
    );
  }
}

void main();
