import { PrivateerError } from "../errors";
import { Readable } from "../socket/mixins";
import { toFrame, type MessageLike } from "../socket/message";
import type { SocketSettings } from "../socket/options";
import type { SendOutcome } from "../socket/socket-base";
import { SubscriberBase, type SubscriberOptions } from "./subscriber-base";

/**
 * RFC 29 SUB: receives the messages whose first frame starts with one of
 * its subscriptions. Subscribing twice to a topic needs two unsubscribes;
 * the empty topic matches everything.
 */
export class Subscriber extends Readable(SubscriberBase) {
  constructor(options: SubscriberOptions & SocketSettings = {}) {
    super("SUB", options);
    this.lingers = false;
    this.filtersInput = true;
    this.configure(options);
  }

  /** Subscribes to each topic prefix; with no arguments, to everything. */
  subscribe(...topics: Array<string | Buffer | Uint8Array>): void {
    if (this.closed) throw new PrivateerError("EBADF", "Socket is closed");
    for (const topic of topics.length === 0 ? [""] : topics) this.changeSubscription(true, toFrame(topic as MessageLike));
  }

  /** Drops one reference to each topic; with no arguments, to the empty topic. */
  unsubscribe(...topics: Array<string | Buffer | Uint8Array>): void {
    if (this.closed) throw new PrivateerError("EBADF", "Socket is closed");
    for (const topic of topics.length === 0 ? [""] : topics) this.changeSubscription(false, toFrame(topic as MessageLike));
  }

  protected xsend(): SendOutcome {
    return new PrivateerError("ENOTSUP", "SUB sockets cannot send; use subscribe()");
  }
}
