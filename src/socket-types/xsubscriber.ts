import type { Message } from "../codec/frame";
import { Readable, Writable } from "../socket/mixins";
import type { SocketSettings } from "../socket/options";
import type { SendOutcome } from "../socket/socket-base";
import { SubscriberBase, type SubscriberOptions } from "./subscriber-base";

/**
 * RFC 29 XSUB: a SUB whose subscriptions are messages the application
 * sends: `0x01 topic` subscribes, `0x00 topic` unsubscribes; other messages
 * go upstream to every publisher unchanged.
 */
export class XSubscriber extends Readable(Writable(SubscriberBase)) {
  constructor(options: SubscriberOptions & SocketSettings = {}) {
    super("XSUB", options);
    this.configure(options);
  }

  protected xsend(message: Message): SendOutcome {
    return this.upstreamSend(message);
  }
}
