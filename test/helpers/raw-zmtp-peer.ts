/**
 * The one hand-written ZMTP peer that tests and benchmarks share. It plays
 * what no well-behaved socket would be (a peer that goes silent, dies
 * mid-message, sends a second READY, dribbles its greeting, or sits idle by
 * the thousand), and reads exactly what the other side wrote.
 *
 * Every byte it writes is built here from RFC 23 and RFC 37 and nothing comes
 * from src/codec, so a codec bug cannot hide itself by being shared with the
 * test that should catch it. It needs only node itself: the benchmarks run it
 * from dist/ (tsconfig.build.json lists this file), in processes of their own.
 */
import * as net from "node:net";
import type { Duplex } from "node:stream";

/** The greeting's size: signature, version, mechanism, as-server, filler. */
export const GREETING_SIZE = 64;

/** Frame flag bits (RFC 23); the other five are reserved. */
export const FLAG = { MORE: 0x01, LONG: 0x02, COMMAND: 0x04 } as const;

/** One frame as the peer read it: its flags byte (LONG included, as sent) and body. */
export interface RawFrame {
  readonly flags: number;
  readonly body: Buffer;
}

/** Bytes as a test likes to type them. A string is UTF-8. */
export type RawBytes = Buffer | string | readonly number[];

const bytesOf = (bytes: RawBytes): Buffer => (typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes));

/** The byte values of an ASCII text, for spelling out expected wire bytes in an array literal. */
export const ascii = (text: string): number[] => [...Buffer.from(text, "ascii")];

/** Hand-built ZMTP bytes. */
export const zmtp = {
  /** The 64-byte greeting: ZMTP 3.1, NULL and as-server 0 unless told otherwise. */
  greeting(options: { major?: number; minor?: number; mechanism?: string; asServer?: boolean } = {}): Buffer {
    const bytes = Buffer.alloc(GREETING_SIZE);
    bytes[0] = 0xff;
    bytes[9] = 0x7f;
    bytes[10] = options.major ?? 3;
    bytes[11] = options.minor ?? 1;
    bytes.write(options.mechanism ?? "NULL", 12, "ascii");
    bytes[32] = options.asServer ? 1 : 0;
    return bytes;
  },

  /** Flags byte, size (one byte, or eight with LONG added when the body is over 255 bytes), body. */
  frame(flags: number, body: RawBytes): Buffer {
    const bytes = bytesOf(body);
    if (bytes.length <= 255) return Buffer.concat([Buffer.from([flags, bytes.length]), bytes]);
    const header = Buffer.alloc(9);
    header[0] = flags | FLAG.LONG;
    header.writeBigUInt64BE(BigInt(bytes.length), 1);
    return Buffer.concat([header, bytes]);
  },

  /** A command frame: name length, name, data. */
  command(name: string, data: RawBytes = []): Buffer {
    return zmtp.frame(FLAG.COMMAND, Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), bytesOf(data)]));
  },

  /** Metadata properties (name length, name, 4-byte value length, value), in insertion order. */
  metadata(properties: Readonly<Record<string, string | Buffer>>): Buffer {
    const parts: Buffer[] = [];
    for (const [name, value] of Object.entries(properties)) {
      const bytes = bytesOf(value);
      const size = Buffer.alloc(4);
      size.writeUInt32BE(bytes.length, 0);
      parts.push(Buffer.from([name.length]), Buffer.from(name, "ascii"), size, bytes);
    }
    return Buffer.concat(parts);
  },

  /** READY carrying `properties`; by default what libzmq's DEALER sends (an empty Identity). */
  ready(properties: Readonly<Record<string, string | Buffer>> = { "Socket-Type": "DEALER", Identity: "" }): Buffer {
    return zmtp.command("READY", zmtp.metadata(properties));
  },

  /** One message: a frame per part, MORE on all but the last. */
  message(...frames: RawBytes[]): Buffer {
    return Buffer.concat(frames.map((frame, i) => zmtp.frame(i < frames.length - 1 ? FLAG.MORE : 0, frame)));
  },

  /** Metadata read back, names lower-cased (they are case-insensitive). */
  parseMetadata(bytes: Buffer): Map<string, Buffer> {
    const properties = new Map<string, Buffer>();
    let at = 0;
    while (at < bytes.length) {
      const nameLength = bytes[at]!;
      const name = bytes.toString("ascii", at + 1, at + 1 + nameLength);
      at += 1 + nameLength;
      const size = bytes.readUInt32BE(at);
      properties.set(name.toLowerCase(), bytes.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    }
    return properties;
  },

  /** A frame read as a command: its name and data (CURVE's MESSAGE is one even without the COMMAND flag). */
  commandOf(frame: RawFrame): { readonly name: string; readonly data: Buffer } {
    const length = frame.body[0] ?? 0;
    return { name: frame.body.toString("latin1", 1, 1 + length), data: frame.body.subarray(1 + length) };
  },
};

/**
 * Splits one direction of a ZMTP byte stream, in chunks of any size, into
 * the 64-byte greeting and the frames after it.
 */
export class FrameReader {
  /** The greeting, once all 64 bytes of it arrived. */
  greeting?: Buffer;
  private pending: Buffer = Buffer.alloc(0);

  /** Takes the next chunk; returns the frames it completed. */
  push(chunk: Buffer): RawFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.greeting === undefined) {
      if (this.pending.length < GREETING_SIZE) return [];
      this.greeting = Buffer.from(this.pending.subarray(0, GREETING_SIZE));
      this.pending = this.pending.subarray(GREETING_SIZE);
    }
    const frames: RawFrame[] = [];
    for (;;) {
      if (this.pending.length < 2) break;
      const flags = this.pending[0]!;
      const headerSize = flags & FLAG.LONG ? 9 : 2;
      if (this.pending.length < headerSize) break;
      const size = flags & FLAG.LONG ? Number(this.pending.readBigUInt64BE(1)) : this.pending[1]!;
      if (this.pending.length < headerSize + size) break;
      frames.push({ flags, body: Buffer.from(this.pending.subarray(headerSize, headerSize + size)) });
      this.pending = this.pending.subarray(headerSize + size);
    }
    return frames;
  }
}

/** How long a read waits by default before it fails with what it was waiting for. */
const WAIT_MS = 5000;

/**
 * A raw ZMTP connection: it writes what the test tells it, byte for byte,
 * and keeps everything the other side wrote (the bytes, the greeting, the
 * frames) for the test to wait on and inspect. It runs over a tcp or ipc
 * connection, or over any duplex stream (the engine tests' in-memory pipe).
 */
export class RawPeer {
  /** Every frame received after the greeting, read or not. */
  readonly seen: RawFrame[] = [];
  /** Every chunk written, for a test that replays a whole connection. */
  readonly written: Buffer[] = [];
  private readonly reader = new FrameReader();
  private chunks: Buffer[] = [];
  private receivedLength = 0;
  /** Index in `seen` of the next frame `nextFrame` returns. */
  private unread = 0;
  private ended = false;
  private readonly wakers = new Set<() => void>();
  private readonly endedPromise: Promise<void>;

  constructor(readonly socket: Duplex) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.receivedLength += chunk.length;
      for (const frame of this.reader.push(chunk)) this.seen.push(frame);
      this.wake();
    });
    // Tests destroy and reset these connections on purpose, and so may the side under test.
    socket.on("error", () => undefined);
    // The other side's FIN ('end') ends the conversation as surely as 'close' does.
    this.endedPromise = new Promise((resolve) => {
      const onEnded = (): void => {
        this.ended = true;
        this.wake();
        resolve();
      };
      socket.once("end", onEnded);
      socket.once("close", onEnded);
    });
  }

  /** Opens a connection to `tcp://host:port` or `ipc://path` and writes nothing yet. */
  static async connect(endpoint: string, ms = WAIT_MS): Promise<RawPeer> {
    const socket = net.connect(RawPeer.address(endpoint));
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`not connected to ${endpoint} within ${ms} ms`)), ms);
      socket.once("error", fail);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", fail);
        resolve();
      });
    });
    return new RawPeer(socket);
  }

  /**
   * Connects as a NULL peer announcing `properties`: sends the greeting,
   * waits for the other side's, then sends READY followed by `then`. It
   * does not wait for the other side's READY, which stays the first frame to
   * read. (libzmq drops a peer whose READY arrives glued to its greeting,
   * hence the two steps.)
   */
  static async connectAs(
    endpoint: string,
    properties: Readonly<Record<string, string | Buffer>>,
    options: { then?: Buffer; ms?: number } = {},
  ): Promise<RawPeer> {
    const peer = await RawPeer.connect(endpoint, options.ms);
    try {
      peer.write(zmtp.greeting());
      await peer.peerGreeting(options.ms);
      peer.write(zmtp.ready(properties), options.then ?? Buffer.alloc(0));
      return peer;
    } catch (error) {
      peer.destroy();
      throw error;
    }
  }

  /** `net.connect` options for a tcp or ipc endpoint (a bracketed IPv6 host loses its brackets). */
  static address(endpoint: string): net.NetConnectOpts {
    if (endpoint.startsWith("ipc://")) return { path: endpoint.slice("ipc://".length) };
    const match = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
    if (!match) throw new Error(`not a tcp or ipc endpoint: ${endpoint}`);
    return { host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port: Number(match[2]) };
  }

  /** Whether the other side has ended or closed the connection. */
  get closed(): boolean {
    return this.ended;
  }

  /** Every byte received so far, greeting included. */
  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Names of the commands received so far ("MESSAGE" for CURVE's boxed traffic). */
  get commandsSeen(): string[] {
    return this.seen.map((frame) => zmtp.commandOf(frame).name);
  }

  /** Writes the chunks as one, unless the connection is already destroyed. */
  write(...chunks: RawBytes[]): void {
    const bytes = Buffer.concat(chunks.map(bytesOf));
    this.written.push(bytes);
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Resolves once everything written so far has been handed to the connection (or it is gone). */
  flushed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(Buffer.alloc(0), () => resolve()));
  }

  /** Half-closes: sends FIN and keeps reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The first `count` bytes received. */
  bytes(count: number, ms = WAIT_MS): Promise<Buffer> {
    return this.until(() => (this.receivedLength >= count ? this.received.subarray(0, count) : undefined), `${count} bytes`, ms);
  }

  /** The other side's 64-byte greeting. */
  peerGreeting(ms = WAIT_MS): Promise<Buffer> {
    return this.until(() => this.reader.greeting, "the greeting", ms);
  }

  /** Every frame received after the greeting, once there are at least `count`; reads none. */
  frames(count: number, ms = WAIT_MS): Promise<RawFrame[]> {
    return this.until(() => (this.seen.length >= count ? [...this.seen] : undefined), `${count} frames`, ms);
  }

  /** The next frame not yet read, command or not. */
  nextFrame(ms = WAIT_MS): Promise<RawFrame> {
    return this.until(() => (this.unread < this.seen.length ? this.seen[this.unread++] : undefined), "a frame", ms);
  }

  /** The next frame, which must be the command `expected`; returns its data (a peer's ERROR shows its reason). */
  async nextCommand(expected: string, ms = WAIT_MS): Promise<Buffer> {
    const { name, data } = zmtp.commandOf(await this.nextFrame(ms));
    if (name !== expected) throw new Error(`expected ${expected}, got ${JSON.stringify(name)} (${data.toString("latin1")})`);
    return data;
  }

  /** Reads past other frames (READY, PINGs, messages) to the command named `name`; returns its data. */
  async skipToCommand(name: string, ms = WAIT_MS): Promise<Buffer> {
    for (;;) {
      const frame = await this.nextFrame(ms);
      if (frame.flags & FLAG.COMMAND && zmtp.commandOf(frame).name === name) return zmtp.commandOf(frame).data;
    }
  }

  /** Reads past commands (READY, PINGs) to the next message frame. */
  async nextMessageFrame(ms = WAIT_MS): Promise<RawFrame> {
    for (;;) {
      const frame = await this.nextFrame(ms);
      if ((frame.flags & FLAG.COMMAND) === 0) return frame;
    }
  }

  /** Resolves when the other side has ended or closed the connection. */
  whenClosed(): Promise<void> {
    // A paused connection would never see the FIN.
    this.socket.resume();
    return this.endedPromise;
  }

  /** Resolves with `take()`'s value once it has one; fails when the connection ends or `ms` pass first. */
  private until<T>(take: () => T | undefined, what: string, ms: number): Promise<T> {
    const now = take();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        const value = take();
        if (value === undefined && !this.ended) return;
        clearTimeout(timer);
        this.wakers.delete(settle);
        if (value !== undefined) resolve(value);
        else reject(new Error(`connection closed while waiting for ${what} (${this.receivedLength} bytes, ${this.seen.length} frames received)`));
      };
      const timer = setTimeout(() => {
        this.wakers.delete(settle);
        reject(new Error(`timed out after ${ms} ms waiting for ${what} (${this.receivedLength} bytes, ${this.seen.length} frames received)`));
      }, ms);
      this.wakers.add(settle);
      if (this.ended) settle();
    });
  }

  private wake(): void {
    for (const settle of [...this.wakers]) settle();
  }
}
