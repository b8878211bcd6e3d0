import type { BroadcastChannel, MessagePort } from "node:worker_threads";
import type { Message } from "../../codec/frame";
import { PrivateerError } from "../../errors";
import type { Pipe, PipeLink } from "../../pipe/pipe";
import { packBatch, transferable, unpackBatch } from "./wire";

/** Stands in for a handler once a channel is closed (the typings do not allow null). */
export const ignore = (): void => {};

/** Another thread's registry: its id, and the cell whose waiters vanish when that thread exits. */
export interface PeerThread {
  readonly id: string;
  readonly life: Int32Array;
}

/**
 * What a link's messages travel on: a MessagePort when one could be handed
 * over (see registry.ts), else the connection's own BroadcastChannel.
 */
export type Carrier = { readonly kind: "port"; readonly port: MessagePort } | { readonly kind: "channel"; readonly channel: BroadcastChannel };

/** A receive window without a limit (receiveHighWaterMark 0, or conflate). */
export const UNLIMITED = 2 ** 52;

/**
 * Smaller batches are copied by the post rather than transferred: for a few
 * bytes a copy costs less than detaching the buffer and handing it over.
 */
const TRANSFER_MIN_BYTES = 4096;

/**
 * Bytes after which a batch is closed and posted; a burst of large messages
 * goes as several posts. Kept well under glibc's malloc mmap threshold
 * (128 KiB to start with): a larger batch buffer is a fresh mmap whose pages
 * fault on first write and is unmapped when the other thread frees it, and
 * those faults, not the copy, were the cost of 64 KiB messages (1 MiB
 * batches: 3.2 k msg/s; 64 KiB batches: 22.7 k msg/s, same run conditions).
 */
const BATCH_BYTES = 1 << 16;

/** What crosses a connection's channel. */
export type LinkMessage =
  /**
   * The connecting side accepted an offer; `credit` is its receive window.
   * `port`, when set, is the connection's MessagePort: both sides move to it.
   */
  | { readonly t: "ack"; readonly credit: number; readonly port?: MessagePort }
  /**
   * A batch of messages (see wire.ts), with credit granted back piggybacked;
   * `x`, when present, holds the frames transferred whole.
   */
  | { readonly t: "d"; readonly b: ArrayBuffer; readonly c: number; readonly x?: ArrayBuffer[] }
  /** Credit granted back: the peer read this many messages. */
  | { readonly t: "c"; readonly c: number }
  /** The sender closed its side; nothing follows. */
  | { readonly t: "close" }
  /**
   * A batch alone, with no credit to grant and nothing out of band: the
   * common case, posted bare because cloning an ArrayBuffer costs less
   * than cloning an object around it.
   */
  | ArrayBuffer;

/** The receive window a pipe grants its peer: its receive high-water mark (0 and conflate: no limit). */
export function windowOf(pipe: Pipe): number {
  return pipe.conflate || pipe.receiveHighWaterMark <= 0 ? UNLIMITED : pipe.receiveHighWaterMark;
}

/**
 * One end of an inproc connection between two threads, joining a pipe to
 * its carrier: the connection's MessagePort, or the BroadcastChannel only
 * the two ends listen on.
 *
 * Flow control is by credit, so high-water marks hold across the thread
 * boundary as they do within a thread: the receiver grants as many messages
 * as its receive high-water mark, and grants them back as its socket reads
 * them. A sender without credit leaves messages in its pipe, whose send
 * high-water mark then blocks the socket: the most a blocked PUSH has queued
 * is its send mark plus the peer's receive mark, as in libzmq's inproc.
 * Credit goes back in halves of the window (libzmq's low-water mark), so a
 * steady stream costs one extra post per half window, not one per message.
 */
export class ThreadLink implements PipeLink {
  private credit: number;
  /** Messages our socket read whose credit the peer has not been given yet. */
  private owed = 0;
  private readonly lowWater: number;
  private flushScheduled = false;
  /** A batch was posted in this turn of the event loop (see outboundReady). */
  private postedThisTurn = false;
  private readonly turnEnded = (): void => {
    this.postedThisTurn = false;
  };
  private creditScheduled = false;
  private ended = false;

  constructor(
    readonly pipe: Pipe,
    private readonly carrier: Carrier,
    /** The window the peer granted us. */
    peerWindow: number,
    /** The peer's registry (one per thread), so that its thread's exit can end this link. */
    readonly peer: PeerThread,
    /** The link is gone; `byPeer` when the peer (or its thread) ended it. */
    private readonly onEnd: (link: ThreadLink, byPeer: boolean, error?: Error) => void,
    /**
     * Read at each flush: whether large frames that own their ArrayBuffer
     * leave by transfer (the socket's `transferLargeFrames`), not by copy.
     */
    private readonly transferLargeFrames: () => boolean = () => false,
  ) {
    this.credit = peerWindow;
    this.lowWater = Math.max(1, Math.ceil(windowOf(pipe) / 2));
    if (carrier.kind === "port") {
      carrier.port.on("message", (message: LinkMessage) => this.receive(message));
      // The far port closes without a goodbye when its thread is terminated: a lost peer, at once.
      carrier.port.once("close", () => this.peerLost(new PrivateerError("EBADF", "the inproc peer's thread exited")));
    } else {
      carrier.channel.onmessage = (event: MessageEvent) => this.receive(event.data as LinkMessage);
    }
  }

  // ---- PipeLink ---------------------------------------------------------

  outboundReady(): void {
    if (this.flushScheduled || this.ended) return;
    this.flushScheduled = true;
    // The first post of a turn of the event loop goes at once (a request waiting for its reply
    // should not wait for the turn to end). Once one went, the rest of the turn's sends are
    // collected and go as one post when it ends: each post wakes the other thread, and a sender
    // in a loop of sends would otherwise pay a wake-up per message.
    if (this.postedThisTurn) setImmediate(this.scheduledFlush);
    else queueMicrotask(this.scheduledFlush);
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  inboundDrained(): void {
    // Credit, not this hook, tells the peer there is room (see inboundTaken).
  }

  inboundTaken(): void {
    if (++this.owed < this.lowWater || this.creditScheduled || this.ended) return;
    this.creditScheduled = true;
    queueMicrotask(() => {
      this.creditScheduled = false;
      // A data post in between may have carried the credit already.
      if (this.owed === 0 || this.ended) return;
      this.post({ t: "c", c: this.owed });
      this.owed = 0;
    });
  }

  get flushed(): boolean {
    return true;
  }

  detach(): void {
    // Our pipe closed (close, unbind, disconnect): tell the peer, then let go.
    if (this.ended) return;
    this.post({ t: "close" });
    this.end(false);
  }

  /** The peer's thread exited: the connection is gone without a goodbye. */
  peerLost(error: Error): void {
    if (this.ended) return;
    this.end(true, error);
    this.pipe.detach(this);
  }

  // ---- internals ----------------------------------------------------------

  private flush(): void {
    // Only a MessagePort can transfer; the BroadcastChannel fallback copies every post anyway.
    const transfer = this.carrier.kind === "port" && this.transferLargeFrames();
    while (this.credit > 0 && !this.ended) {
      const batch: Message[] = [];
      let bytes = 0;
      while (this.credit > 0 && bytes < BATCH_BYTES) {
        const message = this.pipe.takeOutbound();
        if (message === undefined) break;
        batch.push(message);
        this.credit--;
        // Frames that leave by transfer are not copied into the batch: a burst of them goes in one post.
        for (const frame of message) if (!(transfer && transferable(frame))) bytes += frame.length;
      }
      if (batch.length === 0) return;
      if (!(transfer && this.postBatch(batch, true))) this.postBatch(batch, false);
      if (!this.postedThisTurn) {
        this.postedThisTurn = true;
        setImmediate(this.turnEnded);
      }
    }
  }

  /**
   * Packs and posts a batch; false when its frames could not be transferred.
   * A post checks its whole transfer list before detaching anything, so one
   * it refuses (an ArrayBuffer this code did not foresee) has taken nothing
   * from the sender: the caller sends the batch again by copy rather than
   * losing it. (An ArrayBuffer that cannot be detached, a
   * WebAssembly.Memory's, is not refused: Node copies it.)
   */
  private postBatch(batch: readonly Message[], transferFrames: boolean): boolean {
    const { buffer, outOfBand } = packBatch(batch, transferFrames);
    // The batch is a buffer of our own: transferred, not copied again, where the carrier allows.
    const transfer = buffer.byteLength >= TRANSFER_MIN_BYTES ? [buffer, ...outOfBand] : outOfBand;
    // Credit rides along only once it is due (see inboundTaken), so that the usual post is the bare
    // batch: a request/reply exchange would otherwise owe 1 at every send and never post bare.
    const grant = this.owed >= this.lowWater ? this.owed : 0;
    if (outOfBand.length === 0) {
      this.post(grant === 0 ? buffer : { t: "d", b: buffer, c: grant }, transfer);
    } else {
      try {
        this.post({ t: "d", b: buffer, c: grant, x: outOfBand }, transfer);
      } catch {
        return false;
      }
    }
    this.owed -= grant;
    return true;
  }

  private receive(message: LinkMessage): void {
    if (this.ended) return;
    if (message instanceof ArrayBuffer) {
      this.deliver(unpackBatch(message));
      return;
    }
    switch (message.t) {
      case "d": {
        if (message.c > 0) this.grant(message.c);
        this.deliver(unpackBatch(message.b, message.x));
        return;
      }
      case "c":
        this.grant(message.c);
        return;
      case "close":
        this.end(true);
        this.pipe.detach(this);
        return;
      case "ack":
        return;
    }
  }

  private deliver(batch: readonly Message[]): void {
    // A batch is readable at once and wakes waiting receivers on the next turn, once for all of it;
    // a lone message wakes them now, which saves a round trip its turn of the event loop.
    const defer = batch.length > 1;
    for (const received of batch) this.pipe.deliver(received, defer);
  }

  private grant(count: number): void {
    const starved = this.credit === 0;
    this.credit += count;
    if (starved && this.pipe.outboundLength > 0) this.outboundReady();
  }

  private post(message: LinkMessage, transfer?: ArrayBuffer[]): void {
    if (this.carrier.kind === "port") this.carrier.port.postMessage(message, transfer !== undefined && transfer.length > 0 ? transfer : undefined);
    else this.carrier.channel.postMessage(message);
  }

  private end(byPeer: boolean, error?: Error): void {
    this.ended = true;
    if (this.carrier.kind === "port") {
      this.carrier.port.removeAllListeners();
      this.carrier.port.close();
    } else {
      this.carrier.channel.onmessage = ignore;
      this.carrier.channel.close();
    }
    this.onEnd(this, byPeer, error);
  }
}
