import type { Duplex } from "node:stream";
import type { Message } from "../codec/frame";
import { ProtocolError } from "../errors";
import type { PeerInfo } from "../engine/peer";
import { ZmtpEngine, type EngineHandler } from "../engine/zmtp-engine";
import type { Pipe, PipeLink } from "../pipe/pipe";
import type { TransportHost } from "./transport";

/**
 * Joins one byte-stream connection to a pipe: runs a ZMTP engine over the
 * stream and, once the handshake succeeds, moves messages between engine and
 * pipe, pausing the stream when the pipe's inbound queue is full.
 */
export class StreamLink implements PipeLink, EngineHandler {
  private readonly engine: ZmtpEngine;
  private pipe?: Pipe;
  /** Closed by our own socket (close, unbind, disconnect): not a handshake failure. */
  private closedByUs = false;
  private readonly pull = (): Message | undefined => this.pipe?.takeOutbound();

  constructor(
    private readonly host: TransportHost,
    /** The endpoint the connection belongs to, as given to bind/connect. */
    private readonly address: string,
    stream: Duplex,
    asServer: boolean,
    /** A connect()-made pipe that outlives connections, if any. */
    private readonly persistentPipe: Pipe | undefined,
    private readonly connectRoutingId: Buffer | undefined,
    private readonly onClosed: (error: Error | undefined, handshaken: boolean) => void,
  ) {
    this.engine = new ZmtpEngine(stream, host.engineOptions(asServer), this);
  }

  /** Closes the connection (the pipe, if persistent, stays). */
  close(): void {
    this.closedByUs = true;
    this.engine.close();
  }

  /** Closes once everything written so far has left (linger). */
  end(): void {
    this.engine.end();
  }

  // ---- EngineHandler ----------------------------------------------------

  handshake(peer: PeerInfo): ProtocolError | undefined {
    const pipe =
      this.persistentPipe && !this.persistentPipe.closed
        ? this.persistentPipe
        : this.host.createPipe(this.address, { persistent: false, early: false, routingId: this.connectRoutingId });
    const refusal = this.host.admit(pipe, peer);
    if (refusal) {
      if (pipe !== this.persistentPipe) pipe.close();
      return refusal;
    }
    this.pipe = pipe;
    this.host.emit({ type: "handshake", address: this.address, peer, routingId: pipe.routingId });
    pipe.attach(this, peer);
    this.engine.pull(this.pull);
    return undefined;
  }

  message(message: Message): void {
    const pipe = this.pipe;
    if (!pipe) return;
    pipe.deliver(message);
    if (pipe.inboundFull) this.engine.pauseReading();
  }

  closed(error: Error | undefined, handshaken: boolean): void {
    if (handshaken) {
      if (error instanceof ProtocolError) this.host.emit({ type: "protocol:error", address: this.address, error });
      this.host.emit({ type: "disconnect", address: this.address, error, routingId: this.pipe?.routingId });
    } else if (!this.closedByUs) {
      // Every connection that never completed its handshake reports why, even a reset.
      const failure =
        error instanceof ProtocolError
          ? error
          : new ProtocolError("truncated", "connection lost during the handshake", { cause: error });
      this.host.emit({ type: "handshake:error", address: this.address, error: failure });
    }
    const pipe = this.pipe;
    this.pipe = undefined;
    pipe?.detach(this);
    this.onClosed(error, handshaken);
  }

  // ---- PipeLink ---------------------------------------------------------

  outboundReady(): void {
    this.engine.pull(this.pull);
  }

  inboundDrained(): void {
    this.engine.resumeReading();
  }

  get flushed(): boolean {
    return this.engine.unsentBytes === 0;
  }

  detach(): void {
    this.pipe = undefined;
    this.closedByUs = true;
    this.engine.close();
  }
}
