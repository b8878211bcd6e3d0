import { Duplex } from "node:stream";
import pino from "pino";
import { VirtualTimeScheduler } from "rxjs";
import type { Message } from "../../src/codec/frame";
import { FrameDecoder } from "../../src/codec/frame-decoder";
import type { PeerInfo } from "../../src/engine/peer";
import type { EngineHandler, EngineOptions } from "../../src/engine/zmtp-engine";
import type { ProtocolError } from "../../src/errors";

/**
 * One end of an in-memory byte stream. Writes appear as 'data' on the other
 * end; ending or destroying one end ends the other, as a TCP FIN would.
 */
export class StreamEnd extends Duplex {
  other!: StreamEnd;
  private eofSent = false;

  override _read(): void {
    // Data is pushed by the other end's writes.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback(error);
  }

  private sendEof(): void {
    if (this.eofSent) return;
    this.eofSent = true;
    if (!this.other.destroyed) this.other.push(null);
  }
}

export function streamPair(): [StreamEnd, StreamEnd] {
  const a = new StreamEnd();
  const b = new StreamEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

// ---- wire bytes, typed independently of src/codec ---------------------------

export const ascii = (text: string): number[] => [...Buffer.from(text, "ascii")];

export function greetingBytes(options: { major?: number; minor?: number; mechanism?: string; asServer?: 0 | 1 } = {}): Buffer {
  const bytes = Buffer.alloc(64);
  bytes[0] = 0xff;
  bytes[9] = 0x7f;
  bytes[10] = options.major ?? 3;
  bytes[11] = options.minor ?? 1;
  bytes.write(options.mechanism ?? "NULL", 12, "ascii");
  bytes[32] = options.asServer ?? 0;
  return bytes;
}

/** A command frame: flags 0x04 (0x06 when long), size, name-len, name, data. */
export function commandFrame(name: string, data: Buffer | number[] = []): Buffer {
  const body = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), Buffer.from(data)]);
  if (body.length <= 255) return Buffer.concat([Buffer.from([0x04, body.length]), body]);
  const header = Buffer.alloc(9);
  header[0] = 0x06;
  header.writeBigUInt64BE(BigInt(body.length), 1);
  return Buffer.concat([header, body]);
}

export function property(name: string, value: string | Buffer): Buffer {
  const valueBytes = typeof value === "string" ? Buffer.from(value) : value;
  const header = Buffer.alloc(1 + name.length + 4);
  header[0] = name.length;
  header.write(name, 1, "ascii");
  header.writeUInt32BE(valueBytes.length, 1 + name.length);
  return Buffer.concat([header, valueBytes]);
}

export function readyFrame(...properties: Array<[string, string | Buffer]>): Buffer {
  return commandFrame("READY", Buffer.concat(properties.map(([name, value]) => property(name, value))));
}

/** Short message frames (bodies up to 255 bytes), MORE on all but the last. */
export function messageBytes(...frames: Array<string | Buffer | number[]>): Buffer {
  return Buffer.concat(
    frames.map((frame, i) => {
      const body = typeof frame === "string" ? Buffer.from(frame) : Buffer.from(frame);
      if (body.length > 255) throw new RangeError("test helper writes short frames only");
      return Buffer.concat([Buffer.from([i < frames.length - 1 ? 0x01 : 0x00, body.length]), body]);
    }),
  );
}

// ---- the test's side of the connection ------------------------------------

export interface RawFrame {
  readonly flags: number;
  readonly body: Buffer;
}

/** Waits for a condition on state that changes only when an event arrives. */
class Waiters {
  private readonly pending: Array<() => boolean> = [];

  /** Resolves once `check` returns true; `check` runs now and after every `notify`. */
  until(check: () => boolean, describe: () => string, ms = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(new Error(`timed out waiting: ${describe()}`));
      }, ms);
      const entry = (): boolean => {
        if (!check()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      const remove = (): void => {
        const index = this.pending.indexOf(entry);
        if (index !== -1) this.pending.splice(index, 1);
      };
      this.pending.push(entry);
    });
  }

  notify(): void {
    for (const entry of [...this.pending]) if (entry()) this.pending.splice(this.pending.indexOf(entry), 1);
  }
}

/** A hand-driven ZMTP peer: the test writes raw bytes and inspects every byte the engine writes. */
export class RawPeer {
  private chunks: Buffer[] = [];
  private length = 0;
  private isEnded = false;
  private readonly waiters = new Waiters();

  constructor(readonly stream: StreamEnd) {
    stream.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.waiters.notify();
    });
    stream.on("end", () => {
      this.isEnded = true;
      this.waiters.notify();
    });
    stream.on("close", () => {
      this.isEnded = true;
      this.waiters.notify();
    });
  }

  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get ended(): boolean {
    return this.isEnded;
  }

  send(...parts: Array<Buffer | number[]>): void {
    this.stream.write(Buffer.concat(parts.map((part) => Buffer.from(part))));
  }

  /** The first `count` bytes the engine wrote. */
  async bytes(count: number): Promise<Buffer> {
    await this.waiters.until(
      () => this.length >= count || this.isEnded,
      () => `${count} bytes, have ${this.length}`,
    );
    if (this.length < count) throw new Error(`stream ended after ${this.length} of ${count} bytes`);
    return this.received.subarray(0, count);
  }

  /** Frames the engine wrote after its 64-byte greeting; waits until there are at least `count`. */
  async frames(count: number): Promise<RawFrame[]> {
    let frames: RawFrame[] = [];
    await this.waiters.until(
      () => {
        frames = this.decodeFrames();
        return frames.length >= count || this.isEnded;
      },
      () => `${count} frames, have ${frames.length}`,
    );
    if (frames.length < count) throw new Error(`stream ended after ${frames.length} of ${count} frames`);
    return frames;
  }

  /** Everything the engine wrote, once it has closed its side. */
  async untilEnd(): Promise<Buffer> {
    await this.waiters.until(
      () => this.isEnded,
      () => "the engine to end the stream",
    );
    return this.received;
  }

  decodeFrames(): RawFrame[] {
    const frames: RawFrame[] = [];
    if (this.length <= 64) return frames;
    new FrameDecoder().decode(this.received.subarray(64), (flags, body) => frames.push({ flags, body: Buffer.from(body) }));
    return frames;
  }
}

/** Records what an engine reports, with promises for the interesting moments. */
export class Recorder implements EngineHandler {
  readonly peers: PeerInfo[] = [];
  readonly messages: Message[] = [];
  closedWith?: { error: Error | undefined; handshaken: boolean; at: number };
  /** Returned from `handshake` to refuse the peer. */
  refusal?: ProtocolError;
  private readonly waiters = new Waiters();

  constructor(private readonly clock: { now(): number } = Date) {}

  handshake(peer: PeerInfo): ProtocolError | undefined {
    this.peers.push(peer);
    this.waiters.notify();
    return this.refusal;
  }

  message(message: Message): void {
    this.messages.push(message.map((frame) => Buffer.from(frame)));
    this.waiters.notify();
  }

  drained(): void {
    // Backpressure is not exercised by these tests.
  }

  closed(error: Error | undefined, handshaken: boolean): void {
    if (this.closedWith) throw new Error("closed reported twice");
    this.closedWith = { error, handshaken, at: this.clock.now() };
    this.waiters.notify();
  }

  async handshaken(): Promise<PeerInfo> {
    await this.waiters.until(
      () => this.peers.length > 0 || this.closedWith !== undefined,
      () => "handshake",
    );
    if (this.peers.length === 0) throw new Error(`closed before the handshake: ${String(this.closedWith?.error)}`);
    return this.peers[0]!;
  }

  async nextMessages(count: number): Promise<Message[]> {
    await this.waiters.until(
      () => this.messages.length >= count || this.closedWith !== undefined,
      () => `${count} messages, have ${this.messages.length}`,
    );
    if (this.messages.length < count) throw new Error(`closed after ${this.messages.length} of ${count} messages`);
    return this.messages.slice(0, count);
  }

  async whenClosed(): Promise<{ error: Error | undefined; handshaken: boolean; at: number }> {
    await this.waiters.until(
      () => this.closedWith !== undefined,
      () => "close",
    );
    return this.closedWith!;
  }
}

export const silentLogger = pino({ level: "silent" });

/** Engine options with every timer off and a virtual clock, so nothing fires unless a test flushes it. */
export function engineOptions(overrides: Partial<EngineOptions> & Pick<EngineOptions, "socketType">): EngineOptions {
  return {
    asServer: false,
    maxMessageSize: -1,
    heartbeatInterval: 0,
    heartbeatTimeout: 0,
    heartbeatTimeToLive: 0,
    handshakeInterval: 0,
    scheduler: new VirtualTimeScheduler(),
    logger: silentLogger,
    ...overrides,
  };
}

/** A source for `engine.pull` that hands out `messages` once each. */
export function sourceOf(messages: Message[]): () => Message | undefined {
  return () => messages.shift();
}
