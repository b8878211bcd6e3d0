import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";

/**
 * Sends one message to many pipes (PUB/XPUB "distribute"): a pipe that is
 * full misses the message rather than holding everyone else back.
 */
export class Distributor {
  /** Writes `message` to each pipe with room; returns how many got it. */
  static sendToAll(pipes: Iterable<Pipe>, message: Message): number {
    let delivered = 0;
    for (const pipe of pipes) if (pipe.write(message)) delivered++;
    return delivered;
  }

  /** True when every pipe has room (XPUB noDrop sends only then). */
  static allWritable(pipes: Iterable<Pipe>): boolean {
    for (const pipe of pipes) if (!pipe.writable) return false;
    return true;
  }
}
