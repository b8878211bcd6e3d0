import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";
import { SinglePipe } from "../routing/single-pipe";
import { SocketBase, type SendOutcome } from "./socket-base";

/**
 * A socket with one peer, whose routing is that pipe's queues in both
 * directions: PAIR (RFC 31), and the DEALER the socket layer sends ZAP
 * requests on to the in-process handler.
 */
export abstract class SinglePeerSocket extends SocketBase {
  protected readonly peer = new SinglePipe();

  protected xattach(pipe: Pipe): void {
    this.peer.attach(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.peer.detach(pipe);
  }

  protected xreadable(): void {}

  protected xsend(message: Message): SendOutcome {
    return this.peer.write(message);
  }

  protected xrecv(): Message | undefined {
    return this.peer.read();
  }
}
