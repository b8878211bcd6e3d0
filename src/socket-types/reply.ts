import type { Message } from "../codec/frame";
import { PrivateerError } from "../errors";
import type { Pipe } from "../pipe/pipe";
import { FairQueue } from "../routing/fair-queue";
import { Readable, Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

/**
 * RFC 28 (REQREP) REP: takes one request at a time, fair-queued; strips
 * the envelope (every frame up to and including the empty delimiter) and
 * puts it back on the reply, which goes to the peer the request came from.
 */
export class Reply extends Readable(Writable(SocketBase)) {
  private readonly queue = new FairQueue();
  private envelope?: Message;
  private replyPipe?: Pipe;

  constructor(options: SocketOptions & SocketSettings = {}) {
    super("REP", options);
    this.configure(options);
  }

  protected xattach(): void {}

  protected xdetach(pipe: Pipe): void {
    this.queue.remove(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    this.queue.activate(pipe);
  }

  protected xsend(message: Message): SendOutcome {
    const envelope = this.envelope;
    if (!envelope) return new PrivateerError("EFSM", "REP socket must receive a request before sending a reply");
    const pipe = this.replyPipe!;
    this.envelope = undefined;
    this.replyPipe = undefined;
    // If the requester is gone or its pipe is full the reply is dropped, as libzmq does.
    if (!pipe.closed) pipe.write([...envelope, ...message]);
    this.processReceives();
    return true;
  }

  protected xrecv(): Message | undefined {
    if (this.envelope) return undefined;
    for (let message = this.queue.receive(); message !== undefined; message = this.queue.receive()) {
      const delimiter = message.findIndex((frame) => frame.length === 0);
      // No delimiter, or nothing after it: not a request (RFC 28 says discard).
      if (delimiter === -1 || delimiter === message.length - 1) continue;
      this.envelope = message.slice(0, delimiter + 1);
      this.replyPipe = this.queue.lastPipe;
      return message.slice(delimiter + 1);
    }
    return undefined;
  }
}
