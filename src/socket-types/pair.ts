import type { Message } from "../codec/frame";
import { ProtocolError } from "../errors";
import type { Pipe } from "../pipe/pipe";
import { Readable, Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

/** RFC 31 (EXPAIR): exactly one peer; messages go both ways unchanged. */
export class Pair extends Readable(Writable(SocketBase)) {
  private pipe?: Pipe;

  constructor(options: SocketOptions & SocketSettings = {}) {
    super("PAIR", options);
    this.configure(options);
  }

  protected override xadmit(pipe: Pipe): ProtocolError | undefined {
    // A PAIR serves one peer; a second connection is refused while the first lives.
    if (this.pipe && this.pipe !== pipe && !this.pipe.isEnding) {
      return new ProtocolError("exclusive-peer", "PAIR socket already has a peer");
    }
    return undefined;
  }

  protected xattach(pipe: Pipe): void {
    if (this.pipe && this.pipe !== pipe) this.pipe.close();
    this.pipe = pipe;
  }

  protected xdetach(pipe: Pipe): void {
    if (this.pipe === pipe) this.pipe = undefined;
  }

  protected xreadable(): void {}

  protected xsend(message: Message): SendOutcome {
    return this.pipe?.write(message) ?? false;
  }

  protected xrecv(): Message | undefined {
    return this.pipe?.read();
  }
}
