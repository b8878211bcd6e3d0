import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";
import { FairQueue } from "../routing/fair-queue";
import { LoadBalancer } from "../routing/load-balancer";
import { Readable, Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

/** RFC 28 (REQREP) DEALER: round-robin out, fair-queue in, no envelope handling. */
export class Dealer extends Readable(Writable(SocketBase)) {
  private readonly balancer = new LoadBalancer();
  private readonly queue = new FairQueue();

  constructor(options: SocketOptions & SocketSettings = {}) {
    super("DEALER", options);
    this.configure(options);
  }

  protected xattach(pipe: Pipe): void {
    this.balancer.add(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.balancer.remove(pipe);
    this.queue.remove(pipe);
  }

  protected override xdisconnected(pipe: Pipe): void {
    if (pipe.isEnding) this.balancer.remove(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    this.queue.activate(pipe);
  }

  protected xsend(message: Message): SendOutcome {
    return this.balancer.send(message) !== undefined;
  }

  protected xrecv(): Message | undefined {
    return this.queue.receive();
  }
}
