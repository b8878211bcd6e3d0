/**
 * A ZMTP 3.1 peer (NULL mechanism) written by hand over a plain `net` socket.
 * Its bytes are built from RFC 37 rather than with src/codec, so a codec bug
 * cannot hide itself; tests use it to play peers no well-behaved socket would
 * be (one that goes silent, dies mid-message, pings on its own or sends legacy
 * subscriptions) and to read exactly what arrives on the wire.
 */
import * as net from "node:net";

/** One frame as the raw peer decoded it. */
export interface RawFrame {
  readonly flags: number;
  readonly body: Buffer;
}

/** The 64-byte ZMTP 3.1 NULL greeting, as-server 0. */
export function rawGreeting(): Buffer {
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 1;
  greeting.write("NULL", 12, "ascii");
  return greeting;
}

/** A frame header plus body; `flags` may include MORE (1) and COMMAND (4), LONG (2) is added when needed. */
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
export function rawCommand(name: string, data: Buffer | number[] = []): Buffer {
  return rawFrame(0x04, Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), Buffer.from(data)]));
}

/** READY carrying `properties`, in their insertion order. */
export function rawReady(properties: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(properties)) {
    const size = Buffer.alloc(4);
    size.writeUInt32BE(Buffer.byteLength(value), 0);
    parts.push(Buffer.from([name.length]), Buffer.from(name, "ascii"), size, Buffer.from(value));
  }
  return rawCommand("READY", Buffer.concat(parts));
}

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

  /**
   * Connects to a tcp or ipc endpoint and sends the greeting and a READY with
   * Socket-Type `socketType` followed by `extraProperties` (a test imitating
   * libzmq passes the empty Identity that libzmq's REQ, DEALER and ROUTER send).
   */
  static async connect(
    address: string,
    socketType: string,
    extraProperties: Record<string, string> = {},
  ): Promise<RawPeer> {
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
    socket.write(Buffer.concat([rawGreeting(), rawReady({ "Socket-Type": socketType, ...extraProperties })]));
    return peer;
  }

  get closed(): boolean {
    return this.ended;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
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

  /** The next frame that is not a command (the peer's READY and PINGs are skipped). */
  async nextMessageFrame(): Promise<RawFrame> {
    for (;;) {
      const frame = await this.nextFrame();
      if ((frame.flags & 0x04) === 0) return frame;
    }
  }

  /** Skips frames until a command named `name`; returns its data (after the name). */
  async nextCommand(name: string): Promise<Buffer> {
    for (;;) {
      const frame = await this.nextFrame();
      if ((frame.flags & 0x04) === 0) continue;
      const length = frame.body[0]!;
      if (frame.body.toString("ascii", 1, 1 + length) === name) return frame.body.subarray(1 + length);
    }
  }

  /** Resolves when the other side closes the connection. */
  whenClosed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ended) resolve();
      else this.socket.once("close", () => resolve());
    });
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
