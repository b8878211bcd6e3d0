import type { Message } from "../codec/frame";
import { PrivateerError } from "../errors";
import type { Pipe } from "../pipe/pipe";
import { LoadBalancer } from "../routing/load-balancer";
import { Readable, Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

export interface RequestOptions extends SocketOptions {
  /** Prefix each request with a request id and discard replies that do not carry it (ZMQ_REQ_CORRELATE). Default false. */
  correlate?: boolean;
  /** Allow a new request before the previous reply arrived; the old reply is then discarded (ZMQ_REQ_RELAXED). Default false. */
  relaxed?: boolean;
}

const DELIMITER = Buffer.alloc(0);

/**
 * RFC 28 (REQREP) REQ: strict lockstep. Each request gets an empty
 * delimiter frame and goes round-robin to one peer; only a well-formed
 * reply from that peer is accepted, anything else is silently dropped.
 *
 * receive() may be called before send(): it waits for the reply of the
 * next request (a timed-out receive fails with EAGAIN, where zeromq.js says EFSM).
 */
export class Request extends Readable(Writable(SocketBase)) {
  private readonly balancer = new LoadBalancer();
  private awaitingReply = false;
  private replyPipe?: Pipe;
  private requestId = Math.floor(Math.random() * 0xffffffff) >>> 0;
  private isCorrelate = false;
  private isRelaxed = false;

  constructor(options: RequestOptions & SocketSettings = {}) {
    super("REQ", options);
    this.configure(options);
  }

  /** See {@link RequestOptions.correlate}. */
  get correlate(): boolean {
    return this.isCorrelate;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set correlate(value: boolean) {
    this.isCorrelate = Boolean(value);
  }
  /** See {@link RequestOptions.relaxed}. */
  get relaxed(): boolean {
    return this.isRelaxed;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set relaxed(value: boolean) {
    this.isRelaxed = Boolean(value);
  }

  protected xattach(pipe: Pipe): void {
    this.balancer.add(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.balancer.remove(pipe);
    if (this.replyPipe === pipe) this.replyPipe = undefined;
  }

  protected override xdisconnected(pipe: Pipe): void {
    if (pipe.isEnding) this.balancer.remove(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    // Replies from anyone but the peer we asked are stale: drop them now so they don't hold the pipe.
    if (pipe !== this.replyPipe || !this.awaitingReply) while (pipe.read() !== undefined);
  }

  protected xsend(message: Message): SendOutcome {
    if (this.awaitingReply && !this.isRelaxed) {
      return new PrivateerError("EFSM", "REQ socket must receive the reply before sending another request");
    }
    let request: Message;
    if (this.isCorrelate) {
      const id = Buffer.allocUnsafe(4);
      id.writeUInt32BE((this.requestId = (this.requestId + 1) >>> 0));
      request = [id, DELIMITER, ...message];
    } else {
      request = [DELIMITER, ...message];
    }
    const pipe = this.balancer.send(request);
    if (!pipe) return false;
    this.replyPipe = pipe;
    this.awaitingReply = true;
    // In relaxed mode an old reply may already be waiting; it belongs to the previous request.
    while (pipe.read() !== undefined);
    return true;
  }

  protected xrecv(): Message | undefined {
    const pipe = this.replyPipe;
    if (!this.awaitingReply || !pipe) return undefined;
    for (let message = pipe.read(); message !== undefined; message = pipe.read()) {
      const body = this.unwrap(message);
      if (body) {
        this.awaitingReply = false;
        this.processSends();
        return body;
      }
    }
    return undefined;
  }

  /** The reply body, or undefined for a malformed or stale reply (test_req_correlate, test_invalid_rep). */
  private unwrap(message: Message): Message | undefined {
    let at = 0;
    if (this.isCorrelate) {
      const id = message[0];
      if (!id || id.length !== 4 || id.readUInt32BE(0) !== this.requestId) return undefined;
      at = 1;
    }
    if (message.length < at + 2 || message[at]!.length !== 0) return undefined;
    return message.slice(at + 1);
  }
}
