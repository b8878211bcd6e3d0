import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";

/**
 * Reads from pipes in turn, one whole message each (RFC 28/30 "fair-queued
 * incoming"), so a chatty peer cannot starve a quiet one. Only pipes with
 * something to read are kept in the rotation.
 */
export class FairQueue {
  private readonly active: Pipe[] = [];
  private readonly members = new Set<Pipe>();
  private next = 0;
  /** The pipe the last message came from. */
  lastPipe?: Pipe;

  /** A pipe has messages; add it to the rotation. */
  activate(pipe: Pipe): void {
    if (this.members.has(pipe)) return;
    this.members.add(pipe);
    this.active.push(pipe);
  }

  remove(pipe: Pipe): void {
    if (!this.members.delete(pipe)) return;
    const index = this.active.indexOf(pipe);
    this.active.splice(index, 1);
    if (this.next > index) this.next--;
    if (this.next >= this.active.length) this.next = 0;
  }

  get readable(): boolean {
    return this.active.length > 0;
  }

  /** The next message in fair order, or undefined when no pipe has one. */
  receive(): Message | undefined {
    while (this.active.length > 0) {
      if (this.next >= this.active.length) this.next = 0;
      const pipe = this.active[this.next]!;
      const message = pipe.read();
      if (message !== undefined) {
        this.lastPipe = pipe;
        if (pipe.readable) this.next++;
        else this.remove(pipe);
        return message;
      }
      this.remove(pipe);
    }
    return undefined;
  }
}
