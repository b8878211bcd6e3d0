import type { Observable } from "rxjs";
import type { Message } from "../codec/frame";
import type { Readable, Writable } from "../socket/capabilities";
import type { MessageLike } from "../socket/message";
import type { SocketSettings } from "../socket/options";
import type { SendOutcome } from "../socket/socket-base";
import { SubscriberBase, type SubscriberOptions } from "./subscriber-base";

/**
 * RFC 29 XSUB: a SUB whose subscriptions are messages the application
 * sends: `0x01 topic` subscribes, `0x00 topic` unsubscribes; other messages
 * go upstream to every publisher unchanged.
 */
export class XSubscriber extends SubscriberBase implements Readable, Writable {
  constructor(options: SubscriberOptions & SocketSettings = {}) {
    super("XSUB", options);
    this.configure(options);
  }

  send(message: MessageLike | readonly MessageLike[]): Promise<void> {
    return this.sendMessage(message);
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

  protected xsend(message: Message): SendOutcome {
    return this.upstreamSend(message);
  }
}
