/**
 * Helpers shared by the libzmq-parity tests: counting sends until a socket
 * refuses, draining a known number of messages, driving virtual time, and a
 * small hand-driven ZMTP peer for the heartbeat tests.
 */
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { VirtualTimeScheduler } from "rxjs";
import type { Message, PrivateerError } from "../../src";

interface Sender {
  send(message: string | Buffer | Array<string | Buffer>): Promise<void>;
  sendTimeout: number;
}

interface Receiver {
  receive(): Promise<Message>;
}

/** Resolves after one turn of the event loop, so pending I/O callbacks run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * libzmq's "send with ZMQ_DONTWAIT until EAGAIN": sends `make(i)` with
 * sendTimeout 0, awaiting each, until one is refused. Only microtasks run
 * between sends (inproc delivery is a microtask; tcp/ipc writes wait for a
 * macrotask), so for inproc the count is exactly what both queues hold.
 */
export async function sendUntilRefused(
  socket: Sender,
  make: (i: number) => string | Buffer | Array<string | Buffer>,
  max = 10000,
): Promise<number> {
  socket.sendTimeout = 0;
  let count = 0;
  while (count < max) {
    const refused = await socket.send(make(count)).then(
      () => undefined,
      (error: PrivateerError) => error,
    );
    if (refused) {
      expect(refused.code).toBe("EAGAIN");
      break;
    }
    count++;
  }
  return count;
}

/**
 * Sends `make(i)` with sendTimeout 0 until the socket has refused
 * `stallTurns` times in a row, one event-loop turn apart: by then the pipe,
 * the Node stream buffer and the kernel buffers are all full and nothing
 * moves until the peer reads. Returns how many sends were accepted.
 */
export async function sendUntilStalled(
  socket: Sender,
  make: (i: number) => string | Buffer | Array<string | Buffer>,
  { stallTurns = 50, max = 100000 } = {},
): Promise<number> {
  socket.sendTimeout = 0;
  let accepted = 0;
  let refusedInARow = 0;
  while (refusedInARow < stallTurns && accepted < max) {
    const ok = await socket.send(make(accepted)).then(
      () => true,
      (error: PrivateerError) => {
        expect(error.code).toBe("EAGAIN");
        return false;
      },
    );
    if (ok) {
      accepted++;
      refusedInARow = 0;
    } else {
      refusedInARow++;
      await nextTurn();
    }
  }
  return accepted;
}

/** Receives exactly `count` messages, as text frames. */
export async function receiveN(socket: Receiver, count: number): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 0; i < count; i++) out.push((await socket.receive()).map((frame) => frame.toString()));
  return out;
}

/** Runs the virtual-time actions due up to `time` (absolute) and moves the clock there. */
export function advanceTo(scheduler: VirtualTimeScheduler, time: number): void {
  scheduler.maxFrames = time;
  scheduler.flush();
  scheduler.frame = Math.max(scheduler.frame, time);
}

let unique = 0;

/** A tcp or ipc address nothing listens on: a loopback port bound and released just now, or a fresh ipc path. */
export async function deadAddress(transport: "tcp" | "ipc"): Promise<string> {
  if (transport === "ipc") {
    return `ipc://${path.join(os.tmpdir(), `pv-parity-dead-${process.pid}-${Date.now().toString(36)}-${++unique}.sock`)}`;
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `tcp://127.0.0.1:${port}`;
}

// ---- a hand-driven ZMTP 3.1 peer ------------------------------------------

/** One decoded frame. */
export interface WireFrame {
  readonly flags: number;
  readonly body: Buffer;
}

/** Our greeting, written byte by byte from RFC 37 (NULL mechanism, as-server 0). */
export function greeting(): Buffer {
  const bytes = Buffer.alloc(64);
  bytes[0] = 0xff;
  bytes[9] = 0x7f;
  bytes[10] = 3;
  bytes[11] = 1;
  bytes.write("NULL", 12, "ascii");
  return bytes;
}

/** A short frame (body up to 255 bytes). */
export function shortFrame(flags: number, body: Buffer | string): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  if (bytes.length > 255) throw new RangeError("short frames only");
  return Buffer.concat([Buffer.from([flags, bytes.length]), bytes]);
}

/** A command frame: name length, name, data. */
export function command(name: string, data: Buffer | number[] = []): Buffer {
  return shortFrame(0x04, Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), Buffer.from(data)]));
}

/** READY with the given properties. */
export function ready(properties: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(properties)) {
    const size = Buffer.alloc(4);
    size.writeUInt32BE(Buffer.byteLength(value), 0);
    parts.push(Buffer.from([name.length]), Buffer.from(name, "ascii"), size, Buffer.from(value));
  }
  return command("READY", Buffer.concat(parts));
}

/**
 * A raw client speaking ZMTP by hand over tcp or ipc: the test writes bytes
 * and reads back exactly the frames the socket under test sent, so it can
 * play a peer that goes silent or pings on its own.
 */
export class WirePeer {
  private buffer = Buffer.alloc(0);
  private greeted = false;
  private readonly frames: WireFrame[] = [];
  private waiters: Array<() => void> = [];
  private isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on("close", () => {
      this.isClosed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  /** Connects and sends the greeting and READY (as `socketType`, with an empty Identity where libzmq sends one). */
  static async connect(address: string, socketType: string): Promise<WirePeer> {
    const socket = address.startsWith("tcp://")
      ? net.connect({ host: "127.0.0.1", port: Number(address.slice(address.lastIndexOf(":") + 1)) })
      : net.connect({ path: address.slice("ipc://".length) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const peer = new WirePeer(socket);
    const properties: Record<string, string> = { "Socket-Type": socketType };
    if (["REQ", "DEALER", "ROUTER"].includes(socketType)) properties.Identity = "";
    socket.write(Buffer.concat([greeting(), ready(properties)]));
    return peer;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame after the greeting, command or message. */
  async nextFrame(): Promise<WireFrame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.isClosed) throw new Error("the connection closed");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
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
      if (this.isClosed) resolve();
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
    if (!this.greeted) {
      if (this.buffer.length < 64) return;
      this.buffer = this.buffer.subarray(64);
      this.greeted = true;
    }
    for (;;) {
      if (this.buffer.length < 2) break;
      const flags = this.buffer[0]!;
      const long = (flags & 0x02) !== 0;
      const header = long ? 9 : 2;
      if (this.buffer.length < header) break;
      const size = long ? Number(this.buffer.readBigUInt64BE(1)) : this.buffer[1]!;
      if (this.buffer.length < header + size) break;
      this.frames.push({ flags, body: Buffer.from(this.buffer.subarray(header, header + size)) });
      this.buffer = this.buffer.subarray(header + size);
    }
    this.wake();
  }
}
