import type { Message } from "../codec/frame";
import { encodeSubscription, parseSubscription } from "../codec/subscription";
import type { Pipe } from "../pipe/pipe";
import { FairQueue } from "../routing/fair-queue";
import { SubscriptionTrie } from "../routing/subscription-trie";
import type { SocketOptions } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

/** Options of SUB and XSUB. */
export interface SubscriberOptions extends SocketOptions {
  /** Receive the messages that do NOT match any subscription (ZMQ_INVERT_MATCHING). Default false. */
  invertMatching?: boolean;
}

/**
 * The subscribing side of RFC 29, shared by SUB and XSUB: counted
 * subscriptions sent upstream to every publisher (again after a reconnect),
 * fair-queued input, and filtering of what arrives.
 */
export abstract class SubscriberBase extends SocketBase {
  protected readonly topics = new SubscriptionTrie();
  private readonly queue = new FairQueue();
  private readonly upstream = new Set<Pipe>();
  private readonly resubscribe = new Set<Pipe>();
  private inverted = false;
  /**
   * Drop arriving messages that match no subscription. SUB does; XSUB passes
   * everything on, as libzmq's does (a proxy relies on the publisher's filtering).
   */
  protected filtersInput = false;

  /** Receive the messages that do NOT match any subscription (ZMQ_INVERT_MATCHING). Default false. */
  get invertMatching(): boolean {
    return this.inverted;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set invertMatching(value: boolean) {
    this.inverted = Boolean(value);
  }

  protected xattach(pipe: Pipe): void {
    this.upstream.add(pipe);
    this.sendAllTopics(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.upstream.delete(pipe);
    this.resubscribe.delete(pipe);
    this.queue.remove(pipe);
  }

  protected override xdisconnected(pipe: Pipe): void {
    if (pipe.isEnding) this.upstream.delete(pipe);
    else this.resubscribe.add(pipe);
  }

  protected override xconnected(pipe: Pipe): void {
    // The publisher forgot us when the connection dropped: tell it again.
    if (this.resubscribe.delete(pipe)) this.sendAllTopics(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    this.queue.activate(pipe);
  }

  protected xrecv(): Message | undefined {
    for (let message = this.queue.receive(); message !== undefined; message = this.queue.receive()) {
      if (!this.filtersInput || this.topics.matches(message[0]!) !== this.inverted) return message;
    }
    return undefined;
  }

  /**
   * Applies a message bound upstream: a subscription (`0x01 topic`) is
   * counted and always forwarded; an unsubscription (`0x00 topic`) only when
   * its last reference goes; anything else is forwarded as it is.
   */
  protected upstreamSend(message: Message): SendOutcome {
    const subscription = parseSubscription(message[0]!);
    if (subscription === undefined) {
      this.toAll(message, false);
    } else if (subscription.subscribe) {
      this.topics.add(subscription.topic);
      this.toAll(message, true);
    } else if (this.topics.remove(subscription.topic)) {
      this.toAll(message, true);
    }
    return true;
  }

  /** Subscribes (or, with `subscribe` false, unsubscribes) as if the application had sent the message form. */
  protected changeSubscription(subscribe: boolean, topic: Buffer): void {
    this.upstreamSend([encodeSubscription(subscribe, topic)]);
  }

  private toAll(message: Message, mustArrive: boolean): void {
    for (const pipe of this.upstream) {
      // Subscriptions bypass the high-water mark: losing one would silently lose a topic.
      if (mustArrive) pipe.forceWrite(message);
      else pipe.write(message);
    }
  }

  private sendAllTopics(pipe: Pipe): void {
    for (const [topic] of this.topics.entries()) pipe.forceWrite([encodeSubscription(true, topic)]);
  }
}
