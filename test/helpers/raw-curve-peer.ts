/**
 * A CurveZMQ peer (ZMTP 3.1 greeting, RFC 25, RFC 26) written for tests on
 * top of the raw ZMTP peer (raw-zmtp-peer.ts: greeting, frames, metadata,
 * reading), so that a test can play a client or a server that breaks the
 * handshake on purpose: flip a bit in one box, reuse a cookie, replay a
 * nonce, stall between two commands.
 *
 * It uses only the project's crypto primitives (crypto_box beforenm, seal,
 * open from src/security/curve/crypto.ts); every command layout, nonce
 * prefix and size below is written here from RFC 26, and nothing comes from
 * the mechanism under test (src/engine/mechanism/curve-*.ts), so a layout
 * mistake there cannot hide itself by being shared with its test.
 *
 * Each command is built in two steps: a `...Data()` method returns the
 * command's data (after its name) from options a test can override, and
 * `send...()` frames and writes it. A test tampers with the data between the two.
 */
import * as net from "node:net";
import { generateKeyPair, open, precompute, randomBytes, seal, type CurveKeyPairBytes } from "../../src/security/curve/crypto";
import { FrameReader, RawPeer, zmtp } from "./raw-zmtp-peer";

// RFC 26 nonce prefixes: 16 bytes before an 8-byte short nonce, 8 bytes before a 16-byte long nonce.
const PREFIX = {
  HELLO: "CurveZMQHELLO---",
  WELCOME: "WELCOME-",
  COOKIE: "COOKIE--",
  INITIATE: "CurveZMQINITIATE",
  VOUCH: "VOUCH---",
  READY: "CurveZMQREADY---",
  MESSAGE_FROM_CLIENT: "CurveZMQMESSAGEC",
  MESSAGE_FROM_SERVER: "CurveZMQMESSAGES",
} as const;

/** RFC 26 sizes, in bytes. */
export const CURVE_SIZES = {
  /** Poly1305 tag in front of every box. */
  tag: 16,
  key: 32,
  /** HELLO's data: version 2, padding 72, C' 32, short nonce 8, box of 64 zeros 80. */
  hello: 2 + 72 + 32 + 8 + 16 + 64,
  /** A cookie: long nonce 16, box of C' and s' 80. */
  cookie: 16 + 16 + 64,
  /** A vouch: long nonce 16, box of C' and S 80. */
  vouch: 16 + 16 + 64,
  /** WELCOME's data: long nonce 16, box of S' and the cookie. */
  welcome: 16 + 16 + 32 + (16 + 16 + 64),
} as const;

const nonce24 = (prefix: string, tail: Buffer): Buffer => {
  const nonce = Buffer.concat([Buffer.from(prefix, "ascii"), tail]);
  if (nonce.length !== 24) throw new Error(`nonce of ${nonce.length} bytes`);
  return nonce;
};

/** An 8-byte big-endian short nonce. */
export function shortNonce(value: bigint | number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}

/** A copy of `bytes` with one bit inverted; a negative index counts from the end. */
export function flipBit(bytes: Buffer, index: number, bit = 0): Buffer {
  const copy = Buffer.from(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = copy[at]! ^ (1 << bit);
  return copy;
}

/** Options of a MESSAGE command. */
export interface MessageOptions {
  /** The short nonce; the next of the sender's counter when absent. */
  readonly nonce?: bigint;
  readonly more?: boolean;
  /** The boxed frame is a ZMTP command (PING, SUBSCRIBE...). */
  readonly command?: boolean;
}

/** What both raw roles share once the handshake has a session key: MESSAGE boxes and the short-nonce counter. */
abstract class RawCurveEnd {
  /** The next short nonce this end sends (RFC 26: starts at 1, one per HELLO/INITIATE/READY/MESSAGE). */
  nextNonce = 1n;
  /** beforenm(their transient public key, our transient secret key). */
  sessionKey?: Buffer;

  protected constructor(
    readonly wire: RawPeer,
    private readonly sendPrefix: string,
    private readonly receivePrefix: string,
  ) {}

  protected takeNonce(explicit?: bigint): bigint {
    if (explicit !== undefined) return explicit;
    return this.nextNonce++;
  }

  /** MESSAGE's data: "\x07MESSAGE" is added by the frame; short nonce, then the box of the flags byte and the body. */
  messageBody(body: Buffer | string, options: MessageOptions = {}): Buffer {
    const plain = Buffer.concat([
      Buffer.from([(options.more ? 0x01 : 0) | (options.command ? 0x02 : 0)]),
      typeof body === "string" ? Buffer.from(body) : body,
    ]);
    const wireNonce = shortNonce(this.takeNonce(options.nonce));
    const box = seal(plain, nonce24(this.sendPrefix, wireNonce), this.session());
    return Buffer.concat([Buffer.from("\x07MESSAGE", "ascii"), wireNonce, box]);
  }

  /** A MESSAGE in a frame without flags, as libzmq 4.3 sends it. */
  messageFrame(body: Buffer | string, options: MessageOptions = {}): Buffer {
    return zmtp.frame(0, this.messageBody(body, options));
  }

  /** Sends a whole message, one MESSAGE per frame. */
  sendMessage(...frames: Array<Buffer | string>): void {
    this.wire.write(...frames.map((frame, i) => this.messageFrame(frame, { more: i < frames.length - 1 })));
  }

  /** Opens the next MESSAGE; returns the frame it carries. */
  async readMessage(ms = 5000): Promise<{ readonly more: boolean; readonly command: boolean; readonly body: Buffer }> {
    const frame = await this.wire.nextFrame(ms);
    if (!frame.body.subarray(0, 8).equals(Buffer.from("\x07MESSAGE", "ascii"))) {
      throw new Error(`expected MESSAGE, got ${frame.body.toString("latin1", 0, 16)}`);
    }
    const plain = open(frame.body.subarray(16), nonce24(this.receivePrefix, frame.body.subarray(8, 16)), this.session());
    if (plain === undefined) throw new Error("MESSAGE did not open");
    return { more: (plain[0]! & 0x01) !== 0, command: (plain[0]! & 0x02) !== 0, body: plain.subarray(1) };
  }

  /** The next application message (PING and other boxed commands skipped), its frames as text. */
  async readText(ms = 5000): Promise<string[]> {
    const frames: string[] = [];
    for (;;) {
      const frame = await this.readMessage(ms);
      if (frame.command) continue;
      frames.push(frame.body.toString());
      if (!frame.more) return frames;
    }
  }

  private session(): Buffer {
    if (this.sessionKey === undefined) throw new Error("no session key yet: the handshake has not got that far");
    return this.sessionKey;
  }
}

export interface RawCurveClientOptions {
  /** The server's long-term public key (S) as this client believes it. */
  readonly serverKey: Buffer;
  /** Our long-term key pair (C, c); a fresh one when absent. */
  readonly keys?: CurveKeyPairBytes;
  /** Properties for INITIATE; default a DEALER with Identity "raw". */
  readonly metadata?: Record<string, string | Buffer>;
}

/** The client side of CurveZMQ: HELLO, (WELCOME), INITIATE, (READY), then MESSAGEs. */
export class RawCurveClient extends RawCurveEnd {
  readonly keys: CurveKeyPairBytes;
  /** Our transient pair (C', c'). */
  readonly transient: CurveKeyPairBytes = generateKeyPair();
  readonly serverKey: Buffer;
  /** From WELCOME: the server's transient public key (S') and the cookie. */
  serverTransient?: Buffer;
  cookie?: Buffer;
  /** The exact HELLO bytes (whole frame) this client wrote last, for replays. */
  lastHelloFrame?: Buffer;
  private readonly metadata: Record<string, string | Buffer>;

  private constructor(wire: RawPeer, options: RawCurveClientOptions) {
    super(wire, PREFIX.MESSAGE_FROM_CLIENT, PREFIX.MESSAGE_FROM_SERVER);
    this.keys = options.keys ?? generateKeyPair();
    this.serverKey = options.serverKey;
    this.metadata = options.metadata ?? { "Socket-Type": "DEALER", Identity: "raw" };
  }

  /** Connects and writes the greeting (as-server 0). */
  static async connect(endpoint: string, options: RawCurveClientOptions): Promise<RawCurveClient> {
    const client = new RawCurveClient(await RawPeer.connect(endpoint), options);
    client.wire.write(zmtp.greeting({ mechanism: "CURVE", asServer: false }));
    return client;
  }

  /** HELLO's data, version 1.0 and a box of 64 zeros under beforenm(S, c') unless told otherwise. */
  helloData(
    options: { version?: readonly [number, number]; nonce?: bigint; signature?: Buffer; serverKey?: Buffer; transientPublic?: Buffer } = {},
  ): Buffer {
    const wireNonce = shortNonce(this.takeNonce(options.nonce));
    const key = precompute(options.serverKey ?? this.serverKey, this.transient.secretKey)!;
    const box = seal(options.signature ?? Buffer.alloc(64), nonce24(PREFIX.HELLO, wireNonce), key);
    const transient = options.transientPublic ?? this.transient.publicKey;
    return Buffer.concat([Buffer.from(options.version ?? [1, 0]), Buffer.alloc(72), transient, wireNonce, box]);
  }

  sendHello(data: Buffer = this.helloData()): Buffer {
    this.lastHelloFrame = zmtp.command("HELLO", data);
    this.wire.write(this.lastHelloFrame);
    return this.lastHelloFrame;
  }

  /** Reads WELCOME and opens it: S', the cookie, and the session key beforenm(S', c'). */
  async readWelcome(): Promise<void> {
    const data = await this.wire.nextCommand("WELCOME");
    if (data.length !== CURVE_SIZES.welcome) throw new Error(`WELCOME of ${data.length} bytes`);
    const key = precompute(this.serverKey, this.transient.secretKey)!;
    const plain = open(data.subarray(16), nonce24(PREFIX.WELCOME, data.subarray(0, 16)), key);
    if (plain === undefined) throw new Error("WELCOME did not open");
    this.serverTransient = Buffer.from(plain.subarray(0, 32));
    this.cookie = Buffer.from(plain.subarray(32));
    this.sessionKey = precompute(this.serverTransient, this.transient.secretKey);
  }

  /**
   * A vouch: a long nonce and the box of C' and S from our long-term secret
   * to S'. Each part can be swapped to forge one.
   */
  vouch(options: { transient?: Buffer; serverKey?: Buffer; signer?: Buffer; serverTransient?: Buffer } = {}): Buffer {
    const longNonce = randomBytes(16);
    const key = precompute(options.serverTransient ?? this.serverTransient!, options.signer ?? this.keys.secretKey)!;
    const box = seal(
      Buffer.concat([options.transient ?? this.transient.publicKey, options.serverKey ?? this.serverKey]),
      nonce24(PREFIX.VOUCH, longNonce),
      key,
    );
    return Buffer.concat([longNonce, box]);
  }

  /** INITIATE's data: cookie, short nonce, box of C, the vouch and the metadata under the session key. */
  initiateData(
    options: { cookie?: Buffer; nonce?: bigint; clientKey?: Buffer; vouch?: Buffer; metadata?: Buffer; boxKey?: Buffer } = {},
  ): Buffer {
    const wireNonce = shortNonce(this.takeNonce(options.nonce));
    const plain = Buffer.concat([
      options.clientKey ?? this.keys.publicKey,
      options.vouch ?? this.vouch(),
      options.metadata ?? zmtp.metadata(this.metadata),
    ]);
    const box = seal(plain, nonce24(PREFIX.INITIATE, wireNonce), options.boxKey ?? this.sessionKey!);
    return Buffer.concat([options.cookie ?? this.cookie!, wireNonce, box]);
  }

  sendInitiate(data: Buffer = this.initiateData()): void {
    this.wire.write(zmtp.command("INITIATE", data));
  }

  /** Reads READY and opens it; returns the server's properties (names lower-cased). */
  async readReady(): Promise<Map<string, Buffer>> {
    const data = await this.wire.nextCommand("READY");
    const plain = open(data.subarray(8), nonce24(PREFIX.READY, data.subarray(0, 8)), this.sessionKey!);
    if (plain === undefined) throw new Error("READY did not open");
    return zmtp.parseMetadata(plain);
  }

  /** The whole well-behaved handshake; returns the server's properties. */
  async handshake(): Promise<Map<string, Buffer>> {
    this.sendHello();
    await this.readWelcome();
    this.sendInitiate();
    return this.readReady();
  }
}

/** A raw CurveZMQ server listening on 127.0.0.1, one connection at a time. */
export class RawCurveServer {
  private readonly pending: net.Socket[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: net.Server,
    readonly keys: CurveKeyPairBytes,
  ) {
    server.on("connection", (socket) => {
      this.pending.push(socket);
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  static async listen(keys: CurveKeyPairBytes): Promise<RawCurveServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new RawCurveServer(server, keys);
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** The next connection, greeted (as-server 1). */
  async accept(): Promise<RawCurveServerConnection> {
    for (;;) {
      const socket = this.pending.shift();
      if (socket) {
        const wire = new RawPeer(socket);
        wire.write(zmtp.greeting({ mechanism: "CURVE", asServer: true }));
        return new RawCurveServerConnection(wire, this.keys);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    for (const socket of this.pending) socket.destroy();
    this.server.close();
  }
}

/** The server side of one CurveZMQ connection: (HELLO), WELCOME, (INITIATE), READY, then MESSAGEs. */
export class RawCurveServerConnection extends RawCurveEnd {
  /** Our transient pair (S', s'). */
  readonly transient: CurveKeyPairBytes = generateKeyPair();
  clientTransient?: Buffer;
  /** From INITIATE: the client's long-term public key (C) and its properties. */
  clientKey?: Buffer;
  clientMetadata?: Map<string, Buffer>;

  constructor(
    wire: RawPeer,
    readonly keys: CurveKeyPairBytes,
  ) {
    super(wire, PREFIX.MESSAGE_FROM_SERVER, PREFIX.MESSAGE_FROM_CLIENT);
  }

  /** Reads HELLO and checks its box of zeros under beforenm(C', s). */
  async readHello(): Promise<void> {
    const data = await this.wire.nextCommand("HELLO");
    if (data.length !== CURVE_SIZES.hello) throw new Error(`HELLO of ${data.length} bytes`);
    this.clientTransient = Buffer.from(data.subarray(74, 106));
    const key = precompute(this.clientTransient, this.keys.secretKey)!;
    const zeros = open(data.subarray(114), nonce24(PREFIX.HELLO, data.subarray(106, 114)), key);
    if (zeros === undefined || zeros.some((byte) => byte !== 0)) throw new Error("HELLO did not open");
    this.sessionKey = precompute(this.clientTransient, this.transient.secretKey);
  }

  /**
   * WELCOME's data: a long nonce and the box of S' and a cookie under
   * beforenm(C', s). The cookie is boxed under a key nobody keeps: this
   * server reads INITIATE with the transient secret it still holds.
   */
  welcomeData(options: { signer?: Buffer; transientPublic?: Buffer } = {}): Buffer {
    const cookieNonce = randomBytes(16);
    const cookie = Buffer.concat([
      cookieNonce,
      seal(Buffer.concat([this.clientTransient!, this.transient.secretKey]), nonce24(PREFIX.COOKIE, cookieNonce), randomBytes(32)),
    ]);
    const longNonce = randomBytes(16);
    const key = precompute(this.clientTransient!, options.signer ?? this.keys.secretKey)!;
    const transient = options.transientPublic ?? this.transient.publicKey;
    return Buffer.concat([longNonce, seal(Buffer.concat([transient, cookie]), nonce24(PREFIX.WELCOME, longNonce), key)]);
  }

  sendWelcome(data: Buffer = this.welcomeData()): void {
    this.wire.write(zmtp.command("WELCOME", data));
  }

  /** Reads INITIATE, opens its box and its vouch. */
  async readInitiate(): Promise<void> {
    const data = await this.wire.nextCommand("INITIATE");
    const at = CURVE_SIZES.cookie;
    const plain = open(data.subarray(at + 8), nonce24(PREFIX.INITIATE, data.subarray(at, at + 8)), this.sessionKey!);
    if (plain === undefined) throw new Error("INITIATE did not open");
    this.clientKey = Buffer.from(plain.subarray(0, 32));
    const vouch = plain.subarray(32, 32 + CURVE_SIZES.vouch);
    const vouchKey = precompute(this.clientKey, this.transient.secretKey)!;
    const vouched = open(vouch.subarray(16), nonce24(PREFIX.VOUCH, vouch.subarray(0, 16)), vouchKey);
    if (vouched === undefined || !vouched.subarray(0, 32).equals(this.clientTransient!) || !vouched.subarray(32).equals(this.keys.publicKey)) {
      throw new Error("INITIATE's vouch does not hold");
    }
    this.clientMetadata = zmtp.parseMetadata(plain.subarray(32 + CURVE_SIZES.vouch));
  }

  /** READY's data: short nonce and the box of our properties (default a ROUTER) under the session key. */
  readyData(options: { nonce?: bigint; metadata?: Buffer } = {}): Buffer {
    const wireNonce = shortNonce(this.takeNonce(options.nonce));
    const box = seal(options.metadata ?? zmtp.metadata({ "Socket-Type": "ROUTER" }), nonce24(PREFIX.READY, wireNonce), this.sessionKey!);
    return Buffer.concat([wireNonce, box]);
  }

  sendReady(data: Buffer = this.readyData()): void {
    this.wire.write(zmtp.command("READY", data));
  }

  /** The whole well-behaved handshake. */
  async handshake(): Promise<void> {
    await this.readHello();
    this.sendWelcome();
    await this.readInitiate();
    this.sendReady();
  }
}

/** Short nonces from one direction of a CURVE stream, with the command each came in. */
export interface ObservedNonce {
  readonly command: "HELLO" | "INITIATE" | "READY" | "MESSAGE";
  readonly nonce: bigint;
}

/**
 * Reads one direction of a ZMTP CURVE byte stream as it passes (greeting,
 * then frames, in chunks of any size) and records each short nonce, for a
 * proxy that watches the wire without taking part.
 */
export class NonceObserver {
  readonly nonces: ObservedNonce[] = [];
  private readonly reader = new FrameReader();

  push(chunk: Buffer): void {
    for (const frame of this.reader.push(chunk)) this.record(zmtp.commandOf(frame));
  }

  private record({ name, data }: { name: string; data: Buffer }): void {
    // Where each command keeps its short nonce (RFC 26); WELCOME and the cookie use long nonces.
    const offset = { HELLO: 106, INITIATE: CURVE_SIZES.cookie, READY: 0, MESSAGE: 0 }[name];
    if (offset === undefined) return;
    this.nonces.push({ command: name as ObservedNonce["command"], nonce: data.readBigUInt64BE(offset) });
  }
}

/** Indexes at which a sequence of short nonces fails to strictly increase (empty: it does). */
export function nonIncreasing(nonces: readonly bigint[]): number[] {
  const bad: number[] = [];
  for (let i = 1; i < nonces.length; i++) if (nonces[i]! <= nonces[i - 1]!) bad.push(i);
  return bad;
}
