import type { Message } from "../codec/frame";
import { Writable } from "../socket/mixins";
import type { SocketSettings } from "../socket/options";
import { PublisherBase, type PublisherOptions } from "./publisher-base";

/**
 * RFC 29 PUB: sends each message to every subscriber whose subscription
 * prefixes its first frame. `send()` never waits: a subscriber whose pipe is
 * full misses the message (unless `noDrop` is set).
 */
export class Publisher extends Writable(PublisherBase) {
  constructor(options: PublisherOptions & SocketSettings = {}) {
    super("PUB", options);
    this.configure(options);
  }

  protected xrecv(): Message | undefined {
    return undefined;
  }
}
