import type { Message } from "../codec/frame";
import type { PeerInfo } from "../engine/peer";
import { Queue } from "../util/queue";

/** What a pipe tells the socket that owns it. */
export interface PipeOwner {
  /**
   * The inbound queue went from empty to non-empty. With `deferWake`, the
   * message must be readable at once but waiting receivers may be woken later.
   */
  pipeReadable(pipe: Pipe, deferWake?: boolean): void;
  /** The outbound queue has room again after being full. */
  pipeWritable(pipe: Pipe): void;
  /** A (new) connection behind the pipe completed its handshake; `pipe.peer` is set. */
  pipeConnected(pipe: Pipe): void;
  /**
   * The connection behind the pipe is gone. The pipe can still be read until
   * empty; a persistent pipe waits for the reconnect, any other pipe closes
   * once drained (then `pipeClosed` follows).
   */
  pipeDisconnected(pipe: Pipe): void;
  /** The pipe is finished and must be forgotten. */
  pipeClosed(pipe: Pipe): void;
}

/** The far side of a pipe: a ZMTP engine, or the peer pipe of an inproc pair. */
export interface PipeLink {
  /** Messages were added to the outbound queue. */
  outboundReady(): void;
  /** The inbound queue dropped below its high-water mark. */
  inboundDrained(): void;
  /** Bytes or messages accepted by the link but not yet delivered (for linger). */
  readonly flushed: boolean;
  /** Tears the link down; called when the pipe closes. */
  detach(): void;
  /**
   * The socket read one inbound message. Optional: only links that grant the
   * peer credit per message read (inproc across threads) need it.
   */
  inboundTaken?(): void;
}

let nextPipeId = 1;

/**
 * A bidirectional message channel to one peer, with a bounded queue each
 * way (libzmq's pipe). Sockets read and write whole messages here and never
 * see bytes, so every socket type works unchanged over tcp, ipc and inproc.
 *
 * A pipe made by `connect()` outlives its connections: messages queued while
 * the peer is away wait for the reconnect, as they do in libzmq.
 */
export class Pipe {
  readonly id = nextPipeId++;
  /** The peer of the current connection, once its handshake is done. */
  peer?: PeerInfo;
  /** Routing id under which a ROUTER knows this pipe; set by the socket. */
  routingId?: Buffer;
  /** ROUTER-to-ROUTER: the routing id given to connect(), which overrides the peer's. */
  connectRoutingId?: Buffer;
  owner?: PipeOwner;
  private link?: PipeLink;
  private readonly inbound = new Queue<Message>();
  private readonly outbound = new Queue<Message>();
  private isClosed = false;
  /** The link is gone for good: no more writes, close once the inbound queue is read. */
  private ending = false;

  constructor(
    /** The endpoint this pipe belongs to (as given to bind/connect). */
    readonly endpoint: string,
    public sendHighWaterMark: number,
    public receiveHighWaterMark: number,
    /** Made by connect(): survives reconnects. */
    readonly persistent: boolean,
    /** Keep only the newest message each way, ignoring the high-water marks (ZMQ_CONFLATE). */
    readonly conflate = false,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** True once a link is attached and its peer handshaken. */
  get connected(): boolean {
    return this.link !== undefined && this.peer !== undefined;
  }

  // ---- socket side -------------------------------------------------------

  /** Room for one more outbound message? */
  get writable(): boolean {
    return !this.isClosed && !this.ending && (this.sendHighWaterMark <= 0 || this.outbound.length < this.sendHighWaterMark);
  }

  /** Queues a whole message; false (and nothing queued) when the pipe is full or closed. */
  write(message: Message): boolean {
    if (this.conflate && !this.isClosed && !this.ending) this.outbound.clear();
    if (!this.writable) return false;
    this.outbound.push(message);
    this.link?.outboundReady();
    return true;
  }

  /** Queues a message even past the high-water mark (subscriptions must never be lost). */
  forceWrite(message: Message): void {
    if (this.isClosed) return;
    this.outbound.push(message);
    this.link?.outboundReady();
  }

  get readable(): boolean {
    return this.inbound.length > 0;
  }

  /** Takes the next inbound message, if any. */
  read(): Message | undefined {
    const message = this.inbound.shift();
    if (message !== undefined) this.link?.inboundTaken?.();
    if (this.ending && this.inbound.length === 0) queueMicrotask(() => this.close());
    if (message !== undefined && this.receiveHighWaterMark > 0 && this.inbound.length === this.receiveHighWaterMark - 1) {
      this.link?.inboundDrained();
    }
    return message;
  }

  /** Messages waiting to go out. */
  get outboundLength(): number {
    return this.outbound.length;
  }

  /** Everything queued has been handed to the OS (or to the inproc peer). */
  get flushed(): boolean {
    return this.outbound.length === 0 && (this.link?.flushed ?? true);
  }

  /** Whether the connection has gone for good and only unread messages remain. */
  get isEnding(): boolean {
    return this.ending;
  }

  /** Closes the pipe for good; queued messages are dropped. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const link = this.link;
    this.link = undefined;
    this.inbound.clear();
    this.outbound.clear();
    link?.detach();
    this.owner?.pipeClosed(this);
  }

  // ---- link side ---------------------------------------------------------

  /** Attaches the transport side, after its handshake. */
  attach(link: PipeLink, peer: PeerInfo): void {
    this.link = link;
    this.peer = peer;
    this.owner?.pipeConnected(this);
    if (this.outbound.length > 0) link.outboundReady();
  }

  /** The link is gone; a persistent pipe waits for the next one, any other pipe closes. */
  detach(link: PipeLink): void {
    if (this.link !== link) return;
    this.link = undefined;
    if (this.isClosed) return;
    if (!this.persistent) this.ending = true;
    this.owner?.pipeDisconnected(this);
    if (this.ending && this.inbound.length === 0) this.close();
    else if (this.persistent) this.peer = undefined;
  }

  /** Next outbound message for the link, if any. */
  takeOutbound(): Message | undefined {
    const message = this.outbound.shift();
    if (message !== undefined && this.sendHighWaterMark > 0 && this.outbound.length === this.sendHighWaterMark - 1) {
      this.owner?.pipeWritable(this);
    }
    return message;
  }

  /** Whether the inbound queue is at its high-water mark (the link should stop reading). */
  get inboundFull(): boolean {
    return !this.conflate && this.receiveHighWaterMark > 0 && this.inbound.length >= this.receiveHighWaterMark;
  }

  /** A message arrived from the peer. */
  deliver(message: Message, deferWake = false): void {
    if (this.isClosed) return;
    if (this.conflate) this.inbound.clear();
    this.inbound.push(message);
    if (this.inbound.length === 1) this.owner?.pipeReadable(this, deferWake);
  }
}
