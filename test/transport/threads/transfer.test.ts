import { createHash, randomFillSync } from "node:crypto";
import { Publisher, Push, type SocketBase } from "../../../src";
import { carrierSettings } from "../../../src/transport/threads/registry";
import { packBatch, TRANSFER_FRAME_MIN_BYTES, unpackBatch } from "../../../src/transport/threads/wire";
import { RemoteThread, type RemoteSocket } from "./remote";

/**
 * `transferLargeFrames`: across threads, a large frame that owns its whole
 * ArrayBuffer leaves by transfer (the sender's Buffer is detached) and
 * arrives byte for byte; every other frame is copied, as is everything
 * without the option (the negative control), on the BroadcastChannel
 * fallback, and from a PUB (one message, many subscribers).
 */

const BIG = 64 * 1024;
let counter = 0;
const fresh = (): string => `inproc://transfer-${process.pid}-${++counter}`;

let thread: RemoteThread;
const sockets: SocketBase[] = [];
beforeAll(async () => {
  thread = new RemoteThread();
  await thread.ready;
});
afterAll(async () => {
  await thread.terminate();
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  carrierSettings.portHandover = true;
});

/** Random bytes in a Buffer that owns its whole, unpooled ArrayBuffer: the kind that may be transferred. */
function owned(size: number): Buffer {
  return randomFillSync(Buffer.allocUnsafeSlow(size));
}

/** A WebAssembly.Memory's ArrayBuffer (64 KiB); the project's ES2022 typings do not declare WebAssembly. */
function wasmMemory(): ArrayBuffer {
  const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { Memory: new (init: { initial: number }) => { buffer: ArrayBuffer } } };
  return new wasm.Memory({ initial: 1 }).buffer;
}

const digest = (frame: Buffer): { length: number; sha256: string } => ({
  length: frame.length,
  sha256: createHash("sha256").update(frame).digest("hex"),
});

/** A PULL bound in the worker, and a PUSH connected to it from this thread with the given options. */
async function pushToWorker(options: { transferLargeFrames?: boolean }): Promise<{ push: Push; pull: RemoteSocket }> {
  const address = fresh();
  const pull = await thread.open("PULL");
  await pull.bind(address);
  const push = new Push({ linger: 0, ...options });
  sockets.push(push);
  push.connect(address);
  return { push, pull };
}

describe("transferLargeFrames across threads", () => {
  test("a large frame owning its ArrayBuffer is transferred: the sender's Buffer is detached, the bytes arrive intact", async () => {
    const { push, pull } = await pushToWorker({ transferLargeFrames: true });
    const big = owned(BIG);
    const head = Buffer.from("head");
    const expected = [digest(head), digest(big)];
    await push.send([head, big]);
    expect(await pull.receiveDigests()).toEqual(expected);
    // Detached: nothing of the message is readable through the sender's Buffer any more.
    expect(big.length).toBe(0);
    expect(big.buffer.byteLength).toBe(0);
    // The small frame from Node's pool was copied.
    expect(head.toString()).toBe("head");
  });

  test("small, pooled, sliced, shared and repeated frames are copied even with the option on", async () => {
    const { push, pull } = await pushToWorker({ transferLargeFrames: true });
    const small = owned(TRANSFER_FRAME_MIN_BYTES - 1); // owns its ArrayBuffer, but below the threshold
    const pooled = Buffer.from("pooled"); // a view into Node's shared pool
    const parent = owned(2 * BIG);
    const slice = parent.subarray(BIG / 2, BIG / 2 + BIG); // large, but shares its ArrayBuffer with the rest of `parent`
    const whole = parent.subarray(0, parent.length); // views all of `parent`: transferable on its own...
    const shared = Buffer.from(new SharedArrayBuffer(BIG)); // cannot be detached, and is shared anyway
    shared.fill(0x33);
    // Owns all of its ArrayBuffer, but that one cannot be detached: Node copies it, and the sender keeps it.
    const wasm = Buffer.from(wasmMemory());
    randomFillSync(wasm);
    const repeated = owned(BIG);
    const before = [small, pooled, slice, shared].map(digest);
    const wasmBefore = digest(wasm);
    const sliceBefore = digest(slice);
    const repeatedDigest = digest(repeated);
    await push.send([small, pooled, slice, shared, repeated, repeated]);
    const received = await pull.receiveDigests();
    expect(received.slice(0, 4)).toEqual(before);
    expect([small, pooled, slice, shared].map(digest)).toEqual(before);
    expect(digest(slice)).toEqual(sliceBefore);
    expect(parent.length).toBe(2 * BIG);
    // An ArrayBuffer goes once: the first occurrence is transferred, the second was copied before it left.
    expect(received.slice(4)).toEqual([repeatedDigest, repeatedDigest]);
    expect(repeated.length).toBe(0);
    await push.send(wasm);
    expect(await pull.receiveDigests()).toEqual([wasmBefore]);
    expect(digest(wasm)).toEqual(wasmBefore);
    // ...and `whole`, sent on its own, is transferred, detaching `parent` and its slices with it.
    await push.send(whole);
    expect(await pull.receiveDigests()).toHaveLength(1);
    expect(parent.length).toBe(0);
    expect(slice.length).toBe(0);
  });

  test("negative control: without the option nothing is detached", async () => {
    const { push, pull } = await pushToWorker({});
    expect(push.transferLargeFrames).toBe(false);
    const big = owned(BIG);
    const expected = digest(big);
    await push.send(big);
    expect(await pull.receiveDigests()).toEqual([expected]);
    expect(big.length).toBe(BIG);
    expect(digest(big)).toEqual(expected);
  });

  test("the option can be turned on after connect, and read back", async () => {
    const { push, pull } = await pushToWorker({});
    push.transferLargeFrames = true;
    expect(push.transferLargeFrames).toBe(true);
    const big = owned(BIG);
    const expected = digest(big);
    await push.send(big);
    expect(await pull.receiveDigests()).toEqual([expected]);
    expect(big.length).toBe(0);
  });

  test("on the BroadcastChannel fallback (no MessagePort) frames are copied", async () => {
    carrierSettings.portHandover = false;
    const { push, pull } = await pushToWorker({ transferLargeFrames: true });
    const big = owned(BIG);
    const expected = digest(big);
    await push.send(big);
    expect(await pull.receiveDigests()).toEqual([expected]);
    expect(big.length).toBe(BIG);
  });

  test("a PUB copies with the option on: one message goes to every subscriber", async () => {
    const address = fresh();
    const pub = new Publisher({ linger: 0, transferLargeFrames: true });
    sockets.push(pub);
    await pub.bind(address);
    const subs = [await thread.open("SUB"), await thread.open("SUB")];
    for (const sub of subs) {
      await sub.subscribe("");
      await sub.connect(address);
    }
    // Subscriptions travel asynchronously: publish probes until both subscribers hear one.
    const heard = subs.map((sub) => sub.receiveDigests());
    const probing = setInterval(() => void pub.send("probe"), 20);
    try {
      await Promise.all(heard);
    } finally {
      clearInterval(probing);
    }
    const big = owned(BIG);
    const expected = digest(big);
    await pub.send(big);
    for (const sub of subs) {
      let frames = await sub.receiveDigests();
      while (frames[0]?.length === "probe".length) frames = await sub.receiveDigests();
      expect(frames).toEqual([expected]);
    }
    expect(big.length).toBe(BIG);
  });
});

describe("batch wire format with transferred frames", () => {
  test("transferable frames travel out of band, once per ArrayBuffer, and unpack in place", () => {
    const big = owned(BIG);
    const small = Buffer.from("x");
    const slice = owned(2 * BIG).subarray(1, 1 + BIG);
    const messages = [[small, big], [big], [slice]];
    const { buffer, outOfBand } = packBatch(messages, true);
    expect(outOfBand).toEqual([big.buffer]);
    // The batch holds the copied frames only: the small one, the repeat of `big`, and the slice.
    expect(buffer.byteLength).toBe(4 * (1 + 3 + 2 + 2) + 1 + BIG + BIG);
    const unpacked = unpackBatch(buffer, outOfBand);
    expect(unpacked.map((message) => message.map(digest))).toEqual(messages.map((message) => message.map(digest)));
    expect(unpacked[0]![1]!.buffer).toBe(big.buffer);
  });

  test("without transfer everything is packed into the batch", () => {
    const big = owned(BIG);
    const { buffer, outOfBand } = packBatch([[big]]);
    expect(outOfBand).toEqual([]);
    expect(buffer.byteLength).toBe(4 * 3 + BIG);
  });
});
