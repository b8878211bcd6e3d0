import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";
import { FairQueue } from "../routing/fair-queue";
import { Readable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";
import { PrivateerError } from "../errors";

/** RFC 30 (PIPELINE) PULL: fair-queues messages from PUSH peers. */
export class Pull extends Readable(SocketBase) {
  private readonly queue = new FairQueue();

  constructor(options: SocketOptions & SocketSettings = {}) {
    super("PULL", options);
    this.configure(options);
  }

  protected xattach(): void {}

  protected xdetach(pipe: Pipe): void {
    this.queue.remove(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    this.queue.activate(pipe);
  }

  protected xsend(): SendOutcome {
    return new PrivateerError("ENOTSUP", "PULL sockets cannot send");
  }

  protected xrecv(): Message | undefined {
    return this.queue.receive();
  }
}
