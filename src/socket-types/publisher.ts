import type { Message } from "../codec/frame";
import type { MessageLike } from "../socket/message";
import type { Writable } from "../socket/capabilities";
import type { SocketSettings } from "../socket/options";
import { PublisherBase, type PublisherOptions } from "./publisher-base";

/** RFC 29 PUB: sends each message to every subscriber whose subscription prefixes it. */
export class Publisher extends PublisherBase implements Writable {
  constructor(options: PublisherOptions & SocketSettings = {}) {
    super("PUB", options);
    this.configure(options);
  }

  /** Publishes a message; the first frame is matched against subscriptions. Never waits: full subscribers miss it. */
  send(message: MessageLike | readonly MessageLike[]): Promise<void> {
    return this.sendMessage(message);
  }

  protected xrecv(): Message | undefined {
    return undefined;
  }
}
