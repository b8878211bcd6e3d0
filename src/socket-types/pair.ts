import { ProtocolError } from "../errors";
import type { Pipe } from "../pipe/pipe";
import { Readable, Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SinglePeerSocket } from "../socket/single-peer-socket";

/** RFC 31 (EXPAIR): exactly one peer; messages go both ways unchanged. */
export class Pair extends Readable(Writable(SinglePeerSocket)) {
  constructor(options: SocketOptions & SocketSettings = {}) {
    super("PAIR", options);
    this.configure(options);
  }

  protected override xadmit(pipe: Pipe): ProtocolError | undefined {
    // A PAIR serves one peer; a second connection is refused while the first lives.
    const current = this.peer.current;
    if (current && current !== pipe && !current.isEnding) {
      return new ProtocolError("exclusive-peer", "PAIR socket already has a peer");
    }
    return undefined;
  }
}
