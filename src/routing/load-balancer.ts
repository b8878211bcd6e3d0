import type { Message } from "../codec/frame";
import type { Pipe } from "../pipe/pipe";

/**
 * Round-robin over the pipes that have room (RFC 28/30 "round-robin
 * outgoing"). A full pipe is skipped, never waited on, so one slow peer
 * cannot stall the others.
 */
export class LoadBalancer {
  private readonly pipes: Pipe[] = [];
  private next = 0;

  add(pipe: Pipe): void {
    if (!this.pipes.includes(pipe)) this.pipes.push(pipe);
  }

  remove(pipe: Pipe): void {
    const index = this.pipes.indexOf(pipe);
    if (index === -1) return;
    this.pipes.splice(index, 1);
    if (this.next > index) this.next--;
    if (this.next >= this.pipes.length) this.next = 0;
  }

  get size(): number {
    return this.pipes.length;
  }

  /** True when some pipe has room for a message. */
  get writable(): boolean {
    return this.pipes.some((pipe) => pipe.writable);
  }

  /** Writes to the next pipe with room; returns it, or undefined when every pipe is full. */
  send(message: Message): Pipe | undefined {
    const count = this.pipes.length;
    for (let tried = 0; tried < count; tried++) {
      const index = (this.next + tried) % count;
      const pipe = this.pipes[index]!;
      if (pipe.write(message)) {
        this.next = (index + 1) % count;
        return pipe;
      }
    }
    return undefined;
  }
}
