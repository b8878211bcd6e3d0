import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";
import { LoadBalancer } from "../routing/load-balancer";
import { Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

/** RFC 30 (PIPELINE) PUSH: round-robin to PULL peers; waits when every peer is full. */
export class Push extends Writable(SocketBase) {
  private readonly balancer = new LoadBalancer();

  constructor(options: SocketOptions & SocketSettings = {}) {
    super("PUSH", options);
    this.configure(options);
  }

  protected xattach(pipe: Pipe): void {
    this.balancer.add(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.balancer.remove(pipe);
  }

  protected override xdisconnected(pipe: Pipe): void {
    if (pipe.isEnding) this.balancer.remove(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    // PUSH never receives; a misbehaving peer's messages are discarded.
    while (pipe.read() !== undefined);
  }

  protected xsend(message: Message): SendOutcome {
    return this.balancer.send(message) !== undefined;
  }

  protected xrecv(): Message | undefined {
    return undefined;
  }
}
