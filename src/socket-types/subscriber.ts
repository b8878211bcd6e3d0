import type { Observable } from "rxjs";
import type { Message } from "../codec/frame";
import { PrivateerError } from "../errors";
import type { Readable } from "../socket/capabilities";
import { toFrame, type MessageLike } from "../socket/message";
import type { SocketSettings } from "../socket/options";
import type { SendOutcome } from "../socket/socket-base";
import { SUBSCRIBE, UNSUBSCRIBE } from "./publisher-base";
import { SubscriberBase, type SubscriberOptions } from "./subscriber-base";

/**
 * RFC 29 SUB: receives the messages whose first frame starts with one of
 * its subscriptions. Subscribing twice to a topic needs two unsubscribes;
 * the empty topic matches everything.
 */
export class Subscriber extends SubscriberBase implements Readable {
  constructor(options: SubscriberOptions & SocketSettings = {}) {
    super("SUB", options);
    this.lingers = false;
    this.filtersInput = true;
    this.configure(options);
  }

  /** Subscribes to each topic prefix; with no arguments, to everything. */
  subscribe(...topics: Array<string | Buffer | Uint8Array>): void {
    if (this.closed) throw new PrivateerError("EBADF", "Socket is closed");
    for (const topic of topics.length === 0 ? [""] : topics) this.changeSubscription(SUBSCRIBE, toFrame(topic as MessageLike));
  }

  /** Drops one reference to each topic; with no arguments, to the empty topic. */
  unsubscribe(...topics: Array<string | Buffer | Uint8Array>): void {
    if (this.closed) throw new PrivateerError("EBADF", "Socket is closed");
    for (const topic of topics.length === 0 ? [""] : topics) this.changeSubscription(UNSUBSCRIBE, toFrame(topic as MessageLike));
  }

  receive(): Promise<Message> {
    return this.receiveMessage();
  }
  get messages$(): Observable<Message> {
    return this.messageStream();
  }
  /** For `for await`: takes messages from the same queue as `receive()`, and ends the loop, rather than throwing, once the socket closes. */
  [Symbol.asyncIterator](): AsyncIterator<Message, undefined> {
    return this.messageIterator();
  }

  protected xsend(): SendOutcome {
    return new PrivateerError("ENOTSUP", "SUB sockets cannot send; use subscribe()");
  }
}
