import type { Duplex } from "node:stream";
import { asyncScheduler, type SchedulerLike, type Subscription } from "rxjs";
import type { Logger } from "pino";
// Direct module imports: CommonJS re-export getters of a barrel file cost time on the per-frame path.
import { decodeCommand, encodeCommand, type Command } from "../codec/command";
import { FrameFlags, type Message } from "../codec/frame";
import { FrameDecoder } from "../codec/frame-decoder";
import { FrameEncoder } from "../codec/frame-encoder";
import { checkGreetingPrefix, decodeGreeting, encodeGreeting, GREETING_SIZE } from "../codec/greeting";
import { encodeSubscription, encodeSubscriptionCommand } from "../codec/subscription";
import { ProtocolError, type ProtocolErrorReason } from "../errors";
import { HeartbeatTimer } from "./heartbeat-timer";
import {
  createMechanism,
  type Mechanism,
  type MechanismStep,
  type MessageCodec,
  type SecurityConfig,
  type ZapReply,
  type ZapRequest,
} from "./mechanism";
import { decodeHandshakeCommand } from "./mechanism/handshake-command";
import type { ZapRequester } from "./mechanism/zap-client";
import type { PeerInfo } from "./peer";
import { isCompatible, isPublisherType, isSocketType, isSubscriberType, sendsIdentity, type SocketType } from "./socket-type";

export interface EngineOptions {
  readonly socketType: SocketType;
  /** Sent as the `Identity` property by REQ, DEALER and ROUTER. */
  readonly routingId?: Buffer;
  /**
   * Application (`X-`) properties sent in READY after the built-in ones,
   * already validated by the socket (the `metadata` option).
   */
  readonly metadata?: readonly (readonly [string, Buffer])[];
  /** We accepted this connection (ZMTP's as-server role; NULL must send it as zero, PLAIN/CURVE would use it). */
  readonly asServer: boolean;
  /** Largest accepted frame, -1 for no limit. */
  readonly maxMessageSize: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  /** TTL in ms we ask the peer to apply to us; sent in PING in tenths of a second. */
  readonly heartbeatTimeToLive: number;
  /** ms to complete the handshake; 0 = no limit. */
  readonly handshakeInterval: number;
  /** Security mechanism and role; NULL when absent. */
  readonly security?: SecurityConfig;
  /**
   * Answers ZAP requests of a server mechanism; the socket layer supplies one
   * that asks the handler on `inproc://zeromq.zap.01`. Absent: every request
   * is answered as if no handler were bound.
   */
  readonly zap?: ZapRequester;
  readonly scheduler?: SchedulerLike;
  readonly logger: Logger;
}

/** What the engine reports to whoever owns the connection. */
export interface EngineHandler {
  /** The handshake finished. Return a {@link ProtocolError} to refuse the peer. */
  handshake(peer: PeerInfo): ProtocolError | undefined;
  /** A complete message arrived (subscriptions from SUBSCRIBE/CANCEL arrive as 0x01/0x00 messages). */
  message(message: Message): void;
  /** The connection is gone; `error` says why when it was not a clean close. */
  closed(error: Error | undefined, handshaken: boolean): void;
}

/** Supplies the messages the engine writes, one at a time, when the stream has room. */
export type OutboundSource = () => Message | undefined;

const enum Phase {
  Greeting,
  Ready,
  Active,
  Closed,
}

/** Write at most this much per batch before checking the stream's backpressure. */
const BATCH_BYTES = 256 * 1024;

/** The ZAP answer when no requester was supplied: as if no handler were bound. */
const noZapHandler: ZapRequester = () => Promise.resolve(undefined);

/**
 * One ZMTP 3.x connection: greeting, the security mechanism's handshake (NULL, PLAIN or CURVE,
 * see ./mechanism), socket-type check, message framing and heartbeats, over any byte stream.
 * With CURVE every frame after the handshake, commands included, passes through the
 * mechanism's {@link MessageCodec}; without one the per-frame path is untouched.
 *
 * The engine never queues messages itself: it pulls from an
 * {@link OutboundSource} while the stream has room, so the high-water marks
 * of the pipe above it bound memory, and it pauses the stream when the owner
 * says its inbound queue is full.
 */
export class ZmtpEngine {
  private phase = Phase.Greeting;
  private readonly greeting = Buffer.alloc(GREETING_SIZE);
  private greetingFilled = 0;
  private peerMinor = 0;
  private readonly decoder: FrameDecoder;
  private readonly encoder = new FrameEncoder();
  private frames: Buffer[] = [];
  private heartbeat?: HeartbeatTimer;
  private handshakeTimer?: Subscription;
  private flushScheduled = false;
  private source?: OutboundSource;
  private peerInfo?: PeerInfo;
  private readonly mechanism: Mechanism;
  /** Cancels a ZAP request still waiting when the connection closes. */
  private zapAbort?: AbortController;
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  /** Set by a mechanism that boxes traffic (CURVE), from the end of its handshake on. */
  private codec?: MessageCodec;
  // One check per frame: the codec is set in the middle of a chunk when READY and the first MESSAGE arrive together.
  private readonly onFrame = (flags: number, body: Buffer) =>
    this.codec === undefined ? this.frame(flags, body) : this.boxedFrame(body);

  constructor(
    private readonly stream: Duplex,
    private readonly options: EngineOptions,
    private readonly handler: EngineHandler,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = options.logger.child({ component: "engine" });
    this.decoder = new FrameDecoder(options.maxMessageSize);
    // Until the handshake completes only commands are valid: refuse a message frame at its header.
    this.decoder.messageFramesAllowed = false;
    stream.on("data", (chunk: Buffer) => this.receive(chunk));
    stream.on("drain", () => this.flush());
    stream.on("end", () => this.close(this.truncation()));
    stream.on("error", (error: Error) => this.close(error));
    stream.on("close", () => this.close(this.truncation()));

    // Built-ins first, then the application's, as libzmq orders them.
    const properties = new Map<string, Buffer>([["Socket-Type", Buffer.from(options.socketType, "ascii")]]);
    if (sendsIdentity(options.socketType)) properties.set("Identity", options.routingId ?? Buffer.alloc(0));
    for (const [name, value] of options.metadata ?? []) properties.set(name, value);
    const remote = (stream as { remoteAddress?: unknown }).remoteAddress;
    this.mechanism = createMechanism(
      options.security ?? { mechanism: "NULL" },
      properties,
      options.routingId ?? Buffer.alloc(0),
      typeof remote === "string" ? remote : "",
    );
    this.encoder.raw(
      encodeGreeting({ major: 3, minor: 1, mechanism: this.mechanism.name, asServer: this.mechanism.asServer }),
    );
    this.writeBatch();
    if (options.handshakeInterval > 0) {
      this.handshakeTimer = this.scheduler.schedule(
        () => this.fail("handshake-timeout", `handshake not completed within ${options.handshakeInterval} ms`),
        options.handshakeInterval,
      );
    }
  }

  /** The peer, once the handshake has completed. */
  get peer(): PeerInfo | undefined {
    return this.peerInfo;
  }

  get closed(): boolean {
    return this.phase === Phase.Closed;
  }

  /** Bytes handed to the stream and not yet written to the OS. */
  get unsentBytes(): number {
    return this.stream.writableLength;
  }

  /** Starts (or resumes) pulling messages from `source`; safe to call often. */
  pull(source: OutboundSource): void {
    this.source = source;
    if (this.phase !== Phase.Active || this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate rather than a microtask: a tight `await send()` loop then
    // fills the pipe first and the engine writes it in one batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Stops reading from the stream (the owner's inbound queue is full). */
  pauseReading(): void {
    this.stream.pause();
  }

  resumeReading(): void {
    if (this.phase !== Phase.Closed) this.stream.resume();
  }

  /** Closes the connection. With an error, tells the peer why first (ZMTP ERROR command). */
  close(error?: Error): void {
    if (this.phase === Phase.Closed) return;
    if (error) this.logger.debug({ err: error }, "connection closed on error");
    const handshaken = this.phase === Phase.Active;
    // ERROR is a ZMTP 3 frame: only a peer that got past the greeting can read it.
    const speaksZmtp3 = this.phase !== Phase.Greeting;
    this.phase = Phase.Closed;
    this.heartbeat?.stop();
    this.handshakeTimer?.unsubscribe();
    this.zapAbort?.abort();
    this.frames = [];
    // Tell the peer why, unless it is the one that left or complained.
    const peerStillThere = !this.stream.destroyed && !this.stream.readableEnded && this.stream.writable;
    // An authentication refusal was already told, by the mechanism's own ERROR (the ZAP status, as libzmq sends it).
    const explain =
      error instanceof ProtocolError &&
      error.reason !== "peer-error" &&
      error.reason !== "truncated" &&
      error.reason !== "authentication-failed";
    if (explain && speaksZmtp3 && peerStillThere) {
      // Best effort (libzmq peers log the reason): end() lets the write finish, the timer
      // bounds how long a peer that stopped reading can hold the socket open.
      const body = encodeCommand({ name: "ERROR", reason: error.message.slice(0, 255) });
      // After a CURVE handshake the peer reads only MESSAGE boxes.
      this.stream.write(this.codec ? frameOf(this.codec.encode(body, FrameFlags.COMMAND), 0) : frameOf(body, FrameFlags.COMMAND));
      this.stream.end();
      setTimeout(() => this.stream.destroy(), 1000).unref();
    } else {
      this.stream.destroy();
    }
    this.handler.closed(error, handshaken);
  }

  /** Closes after everything handed to the stream has been written (used by linger). */
  end(): void {
    if (this.phase === Phase.Closed) return;
    this.heartbeat?.stop();
    this.stream.end(() => this.close());
  }

  private truncation(): Error | undefined {
    if (this.phase === Phase.Closed) return undefined;
    if (this.phase !== Phase.Active) {
      return new ProtocolError("truncated", "peer closed the connection during the handshake");
    }
    return undefined;
  }

  private fail(reason: ProtocolErrorReason, message: string): void {
    this.close(new ProtocolError(reason, message));
  }

  private receive(chunk: Buffer): void {
    if (this.phase === Phase.Closed) return;
    try {
      this.heartbeat?.traffic();
      if (this.phase === Phase.Greeting) {
        const take = Math.min(GREETING_SIZE - this.greetingFilled, chunk.length);
        chunk.copy(this.greeting, this.greetingFilled, 0, take);
        this.greetingFilled += take;
        chunk = chunk.subarray(take);
        checkGreetingPrefix(this.greeting.subarray(0, this.greetingFilled));
        if (this.greetingFilled < GREETING_SIZE) return;
        this.greetingReceived();
        if (chunk.length === 0) return;
      }
      this.decoder.decode(chunk, this.onFrame);
    } catch (error) {
      if (error instanceof ProtocolError) this.close(error);
      else this.close(new ProtocolError("bad-command", "internal error while decoding", { cause: error }));
    }
  }

  private greetingReceived(): void {
    const greeting = decodeGreeting(this.greeting);
    const ours = this.mechanism.name;
    if (greeting.mechanism !== ours) {
      throw new ProtocolError(
        "mechanism-mismatch",
        `peer uses security mechanism ${greeting.mechanism}; this socket uses ${ours}`,
      );
    }
    // PLAIN and CURVE need one server and one client. libzmq 4.3 sends as-server 0 even as a server and
    // ignores the flag, so only two peers that both claim the server role are a sure mismatch here; two
    // clients are caught by the mechanism when a HELLO arrives instead of WELCOME.
    if (ours !== "NULL" && greeting.asServer && this.mechanism.asServer) {
      throw new ProtocolError("role-mismatch", `both peers are ${ours} servers`);
    }
    this.peerMinor = greeting.major > 3 ? 1 : greeting.minor;
    this.phase = Phase.Ready;
    this.step(this.mechanism.start());
  }

  /** Performs what the mechanism decided: writes its commands, then waits, asks ZAP, finishes or fails. */
  private step(next: MechanismStep): void {
    if (this.phase === Phase.Closed) return;
    this.sendCommands(next.send);
    switch (next.status) {
      case "handshaking":
        return;
      case "error":
        throw next.error;
      case "zap":
        this.consultZap(next.request);
        return;
      case "ready":
        // From here on the peer boxes every frame, and so do we (READY itself went out above, in clear).
        this.codec = next.codec;
        this.handshaken(next.metadata);
        return;
    }
  }

  private sendCommands(commands: readonly Command[]): void {
    if (commands.length === 0) return;
    for (const command of commands) this.encoder.command(encodeCommand(command));
    this.writeBatch();
  }

  /** Asks the ZAP handler; the reply arrives outside any stream callback, so failures close here. */
  private consultZap(request: ZapRequest): void {
    const abort = new AbortController();
    this.zapAbort = abort;
    const ask = this.options.zap ?? noZapHandler;
    ask(request, abort.signal).then(
      (reply) => this.zapAnswered(reply),
      (error: unknown) => {
        this.logger.debug({ err: error }, "ZAP request failed");
        // A handler we could not reach counts as an internal error (ZAP status 500), never as an allow.
        this.zapAnswered({ statusCode: "500", statusText: "ZAP request failed", userId: "", metadata: new Map() });
      },
    );
  }

  private zapAnswered(reply: ZapReply | undefined): void {
    if (this.phase === Phase.Closed) return;
    this.zapAbort = undefined;
    try {
      this.step(this.mechanism.zapReply(reply));
    } catch (error) {
      this.close(error instanceof ProtocolError ? error : new ProtocolError("bad-command", "internal error after ZAP", { cause: error }));
    }
  }

  /** A frame after a CURVE handshake: a MESSAGE whose box holds the real frame and its flags. */
  private boxedFrame(body: Buffer): void {
    if (this.phase === Phase.Closed) return;
    // libzmq sends MESSAGE in a frame with no flags; its MORE and COMMAND are inside the box.
    const inner = this.codec!.decode(body);
    this.frame(inner.flags, inner.body);
  }

  private frame(flags: number, body: Buffer): void {
    if (this.phase === Phase.Closed) return;
    if (flags & FrameFlags.COMMAND) {
      if (flags & FrameFlags.MORE) throw new ProtocolError("malformed-command", "command frame has the MORE flag set");
      this.command(body);
      return;
    }
    if (this.phase !== Phase.Active) throw new ProtocolError("unexpected-command", "message frame before READY");
    this.frames.push(body);
    if (flags & FrameFlags.MORE) return;
    const message = this.frames;
    this.frames = [];
    this.handler.message(message);
  }

  private command(body: Buffer): void {
    const command = this.phase === Phase.Ready ? decodeHandshakeCommand(body, this.mechanism.name) : decodeCommand(body);
    if (this.phase === Phase.Ready) {
      if (this.zapAbort) throw new ProtocolError("unexpected-command", `${commandName(command)} while the server consults ZAP`);
      this.step(this.mechanism.receive(command));
      return;
    }
    this.activeCommand(command);
  }

  /** The mechanism accepted the peer: check its socket type and go active. */
  private handshaken(metadata: PeerInfo["metadata"]): void {
    const type = metadata.get("socket-type")?.toString("ascii");
    if (type === undefined) throw new ProtocolError("missing-socket-type", "READY has no Socket-Type property");
    if (!isSocketType(type) || !isCompatible(this.options.socketType, type)) {
      throw new ProtocolError(
        "incompatible-socket-type",
        `a ${this.options.socketType} socket cannot talk to a ${type} socket`,
      );
    }
    this.peerInfo = {
      socketType: type,
      routingId: metadata.get("identity") ?? Buffer.alloc(0),
      metadata,
      protocol: this.peerMinor >= 1 ? "ZMTP/3.1" : "ZMTP/3.0",
    };
    this.handshakeTimer?.unsubscribe();
    const refusal = this.handler.handshake(this.peerInfo);
    if (refusal) throw refusal;
    this.phase = Phase.Active;
    this.decoder.messageFramesAllowed = true;
    this.startHeartbeat();
    if (this.source) this.pull(this.source);
  }

  private activeCommand(command: Command): void {
    switch (command.name) {
      case "PING":
        this.heartbeat?.peerTtl(command.ttl * 100);
        this.encodeActiveCommand(encodeCommand({ name: "PONG", context: command.context }));
        this.writeBatch();
        return;
      case "PONG":
        return;
      case "SUBSCRIBE":
      case "CANCEL":
        if (isPublisherType(this.options.socketType)) {
          this.handler.message([encodeSubscription(command.name === "SUBSCRIBE", command.topic)]);
        }
        return;
      case "ERROR":
        throw new ProtocolError("peer-error", `peer closed the connection: ${command.reason}`);
      case "READY":
        throw new ProtocolError("unexpected-command", "READY after the handshake");
      case "UNKNOWN":
        // RFC 37 leaves unknown commands to the implementation; libzmq ignores them.
        this.logger.debug({ command: command.commandName }, "ignoring unknown command");
        return;
    }
  }

  private startHeartbeat(): void {
    const { heartbeatInterval, heartbeatTimeout, heartbeatTimeToLive } = this.options;
    this.heartbeat = new HeartbeatTimer(
      { interval: heartbeatInterval, timeout: heartbeatTimeout },
      this.scheduler,
      {
        sendPing: () => {
          // Truncated like libzmq: 99 ms announces no TTL at all.
          const ttl = Math.floor(heartbeatTimeToLive / 100);
          this.encodeActiveCommand(encodeCommand({ name: "PING", ttl, context: Buffer.alloc(0) }));
          this.writeBatch();
        },
        expired: (why) =>
          this.fail("heartbeat-timeout", why === "ttl" ? "peer's heartbeat TTL expired" : "no traffic after PING"),
      },
    );
    this.heartbeat.start();
  }

  private flush(): void {
    const source = this.source;
    if (this.phase !== Phase.Active || !source) return;
    const subscriptionsAsCommands = this.peerMinor >= 1 && isSubscriberType(this.options.socketType);
    while (!this.stream.writableNeedDrain) {
      let message: Message | undefined;
      let command: Buffer | undefined;
      while (this.encoder.size < BATCH_BYTES && (message = source()) !== undefined) {
        if (subscriptionsAsCommands && message.length === 1 && (command = encodeSubscriptionCommand(message[0]!)) !== undefined) {
          this.encodeActiveCommand(command);
        } else if (this.codec === undefined) {
          this.encoder.message(message);
        } else {
          this.boxedMessage(message, this.codec);
        }
      }
      if (this.encoder.size === 0) return;
      this.writeBatch();
      if (this.phase !== Phase.Active) return;
    }
  }

  /** Encodes a command after the handshake: boxed when the mechanism has a codec. */
  private encodeActiveCommand(body: Buffer): void {
    if (this.codec === undefined) this.encoder.command(body);
    else this.encoder.frame(this.codec.encode(body, FrameFlags.COMMAND), 0);
  }

  /** Each frame of a message in a MESSAGE box of its own, MORE inside the box (as libzmq 4.3 sends it). */
  private boxedMessage(message: Message, codec: MessageCodec): void {
    const last = message.length - 1;
    for (let i = 0; i <= last; i++) this.encoder.frame(codec.encode(message[i]!, i < last ? FrameFlags.MORE : 0), 0);
  }

  private writeBatch(): void {
    const pieces = this.encoder.take();
    if (pieces.length === 0 || this.stream.destroyed) return;
    if (pieces.length === 1) {
      this.stream.write(pieces[0]);
      return;
    }
    this.stream.cork();
    for (const piece of pieces) this.stream.write(piece);
    this.stream.uncork();
  }
}

function commandName(command: Command): string {
  return command.name === "UNKNOWN" ? command.commandName : command.name;
}

function frameOf(body: Buffer, flags: number): Buffer {
  const encoder = new FrameEncoder();
  encoder.frame(body, flags);
  return Buffer.concat(encoder.take());
}
