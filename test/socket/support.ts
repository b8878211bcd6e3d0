import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { VirtualTimeScheduler } from "rxjs";
import { Pull, type Message } from "../../src";
import { bindAddress, closeAll, type TransportName } from "../helpers/endpoints";

let freeCounter = 0;

/**
 * An address nothing listens on yet, for connect-before-bind tests: a unique
 * ipc path or inproc name, or for tcp a 127.0.0.1 port bound and released
 * just now.
 */
export async function freeAddress(transport: TransportName): Promise<string> {
  if (transport === "ipc") {
    return `ipc://${path.join(os.tmpdir(), `pv-free-${process.pid}-${Date.now().toString(36)}-${++freeCounter}.sock`)}`;
  }
  if (transport === "inproc") return bindAddress("inproc");
  const probe = new Pull();
  try {
    await probe.bind(bindAddress("tcp"));
    const address = probe.lastEndpoint!;
    await probe.unbind(address);
    return address;
  } finally {
    closeAll(probe);
  }
}

/** Resolves after one turn of the event loop (I/O callbacks included). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * True when `promise` has not settled by the next turn of the event loop. Used
 * only to show that something is (still) waiting, never to wait for something.
 */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await nextTurn();
  return !settled;
}

/** The rejection of `promise`, or a failure if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code?: string; reason?: string } & Error> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string } & Error;
  }
  throw new Error("expected the promise to reject");
}

/** Runs virtual-time actions due up to `time` (absolute frame) and moves the clock there. */
export function advanceTo(scheduler: VirtualTimeScheduler, time: number): void {
  scheduler.maxFrames = time;
  scheduler.flush();
  scheduler.frame = Math.max(scheduler.frame, time);
}

/**
 * Repeats `poke` until `receiving` settles, at most `tries` times, letting
 * `pauseMs` pass between pokes. For waits that have no event to await, such as
 * a subscription travelling to a PUB socket, which never tells.
 */
export async function untilReceived<T>(
  receiving: Promise<T>,
  poke: () => Promise<unknown> | unknown,
  tries = 200,
  pauseMs = 10,
): Promise<T> {
  let outcome: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  receiving.then(
    (value) => (outcome = { value }),
    (error: unknown) => (failure = { error }),
  );
  for (let attempt = 0; attempt < tries; attempt++) {
    await poke();
    for (let waited = 0; waited < pauseMs && !outcome && !failure; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (failure) throw failure.error;
    if (outcome) return outcome.value;
  }
  throw new Error(`nothing received after ${tries} attempts`);
}

/** Receives messages until one whose first frame is `marker` (included); returns them as text. */
export async function receiveThrough(
  socket: { receive(): Promise<Message> },
  marker: string,
  max = 100000,
): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 0; i < max; i++) {
    const message = (await socket.receive()).map((frame) => frame.toString());
    out.push(message);
    if (message[0] === marker) return out;
  }
  throw new Error(`marker ${marker} not seen in ${max} messages`);
}

// ---- a hand-written ZMTP 3.1 peer (NULL mechanism) -----------------------

/** One frame as the raw peer decoded it. */
export interface RawFrame {
  readonly flags: number;
  readonly body: Buffer;
}

/** The 64-byte ZMTP 3.1 NULL greeting, built byte by byte from RFC 37. */
export function rawGreeting(): Buffer {
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 1;
  greeting.write("NULL", 12, "ascii");
  return greeting;
}

/** A frame header plus body; `flags` may include MORE (1) and COMMAND (4). */
export function rawFrame(flags: number, body: Buffer | string): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  if (bytes.length > 255) {
    const header = Buffer.alloc(9);
    header[0] = flags | 0x02;
    header.writeBigUInt64BE(BigInt(bytes.length), 1);
    return Buffer.concat([header, bytes]);
  }
  return Buffer.concat([Buffer.from([flags, bytes.length]), bytes]);
}

/** A command frame: name length, name, data. */
export function rawCommand(name: string, data: Buffer = Buffer.alloc(0)): Buffer {
  return rawFrame(0x04, Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), data]));
}

/** READY carrying only Socket-Type. */
export function rawReady(socketType: string): Buffer {
  const name = Buffer.from("Socket-Type", "ascii");
  const value = Buffer.from(socketType, "ascii");
  const size = Buffer.alloc(4);
  size.writeUInt32BE(value.length, 0);
  return rawCommand("READY", Buffer.concat([Buffer.from([name.length]), name, size, value]));
}

/**
 * A ZMTP peer speaking over a plain `net` socket, so tests can do what no
 * well-behaved socket does (die mid-message, send legacy subscriptions) and
 * read exactly what arrives on the wire.
 */
export class RawPeer {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private greetingSeen = false;
  private readonly frames: RawFrame[] = [];
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    // Tests destroy and reset these sockets on purpose; an error must not crash the run.
    socket.on("error", () => undefined);
  }

  /** Connects to a tcp or ipc endpoint and sends the greeting and a READY for `socketType`. */
  static async connect(address: string, socketType: string): Promise<RawPeer> {
    const socket = address.startsWith("tcp://")
      ? (() => {
          const rest = address.slice("tcp://".length);
          const colon = rest.lastIndexOf(":");
          return net.connect({ host: rest.slice(0, colon), port: Number(rest.slice(colon + 1)) });
        })()
      : net.connect({ path: address.slice("ipc://".length) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const peer = new RawPeer(socket);
    socket.write(Buffer.concat([rawGreeting(), rawReady(socketType)]));
    return peer;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame that is not a command (the peer's READY and PINGs are skipped). */
  async nextMessageFrame(): Promise<RawFrame> {
    for (;;) {
      const frame = await this.nextFrame();
      if ((frame.flags & 0x04) === 0) return frame;
    }
  }

  /** The next frame, command or not, after the greeting. */
  async nextFrame(): Promise<RawFrame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.ended) throw new Error("raw peer connection closed");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private parse(): void {
    if (!this.greetingSeen) {
      if (this.buffer.length < 64) return;
      this.buffer = this.buffer.subarray(64);
      this.greetingSeen = true;
    }
    for (;;) {
      if (this.buffer.length < 2) break;
      const flags = this.buffer[0]!;
      const long = (flags & 0x02) !== 0;
      const headerSize = long ? 9 : 2;
      if (this.buffer.length < headerSize) break;
      const size = long ? Number(this.buffer.readBigUInt64BE(1)) : this.buffer[1]!;
      if (this.buffer.length < headerSize + size) break;
      this.frames.push({ flags, body: Buffer.from(this.buffer.subarray(headerSize, headerSize + size)) });
      this.buffer = this.buffer.subarray(headerSize + size);
    }
    this.wake();
  }
}
