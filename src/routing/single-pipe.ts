import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";

/**
 * The routing of a socket with one peer (RFC 31 PAIR, and the socket layer's
 * own ZAP DEALER): that pipe's queues, in both directions. A new pipe
 * replaces the old one, which is closed.
 */
export class SinglePipe {
  /** The peer's pipe, while there is one. */
  current: Pipe | undefined;

  attach(pipe: Pipe): void {
    if (this.current && this.current !== pipe) this.current.close();
    this.current = pipe;
  }

  detach(pipe: Pipe): void {
    if (this.current === pipe) this.current = undefined;
  }

  /** False when there is no peer or its pipe is full. */
  write(message: Message): boolean {
    return this.current?.write(message) ?? false;
  }

  read(): Message | undefined {
    return this.current?.read();
  }
}
