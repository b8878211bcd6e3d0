import type { Message } from "../codec/frame";
import { parseSubscription, type Subscription } from "../codec/subscription";
import type { Pipe } from "../pipe/pipe";
import { Distributor } from "../routing/distributor";
import { MultiTrie } from "../routing/multi-trie";
import type { SocketOptions } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

/** Options of PUB and XPUB. */
export interface PublisherOptions extends SocketOptions {
  /** Wait for room (sendTimeout applies) instead of dropping for a full subscriber (ZMQ_XPUB_NODROP). Default false. */
  noDrop?: boolean;
  /** Send to subscribers that do NOT match (ZMQ_INVERT_MATCHING). Default false. */
  invertMatching?: boolean;
}

/**
 * The publishing side of RFC 29 (PUBSUB), shared by PUB and XPUB: keeps each
 * subscriber's topics in a {@link MultiTrie} and sends every message to the
 * subscribers whose topics prefix its first frame, dropping it for a
 * subscriber whose pipe is full.
 */
export abstract class PublisherBase extends SocketBase {
  protected readonly subscriptions = new MultiTrie<Pipe>();
  private readonly matched = new Set<Pipe>();
  private readonly subscribers = new Set<Pipe>();
  private lossless = false;
  /** XPUB manual: subscriptions are applied by the application, not on arrival. */
  protected manualMode = false;
  /** The subscriber whose (un)subscription the application received last (the target of manual subscribe()). */
  protected lastSubscriber?: Pipe;
  /** XPUB manual: the topics each subscriber itself asked for, reported back as unsubscriptions when it leaves. */
  private readonly requested = new Map<Pipe, Map<string, Buffer>>();
  private inverted = false;

  /** Wait for room instead of dropping when a subscriber's pipe is full. Default false. */
  get noDrop(): boolean {
    return this.lossless;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set noDrop(value: boolean) {
    this.lossless = Boolean(value);
  }

  /** Send each message to the subscribers that do NOT match it (ZMQ_INVERT_MATCHING). Default false. */
  get invertMatching(): boolean {
    return this.inverted;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set invertMatching(value: boolean) {
    this.inverted = Boolean(value);
  }

  protected xattach(pipe: Pipe): void {
    this.subscribers.add(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.subscribers.delete(pipe);
    if (this.lastSubscriber === pipe) this.lastSubscriber = undefined;
    this.dropSubscriber(pipe);
  }

  protected override xdisconnected(pipe: Pipe): void {
    // A reconnecting subscriber sends its subscriptions again.
    this.dropSubscriber(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    for (let message = pipe.read(); message !== undefined; message = pipe.read()) this.inbound(pipe, message);
  }

  protected xsend(message: Message): SendOutcome {
    let targets = this.matched;
    this.subscriptions.match(message[0]!, (pipe) => targets.add(pipe));
    if (this.inverted) {
      const unmatched = new Set<Pipe>();
      for (const pipe of this.subscribers) if (!targets.has(pipe)) unmatched.add(pipe);
      targets.clear();
      targets = unmatched;
    }
    if (this.lossless && !Distributor.allWritable(targets)) {
      targets.clear();
      return false;
    }
    Distributor.sendToAll(targets, message);
    targets.clear();
    return true;
  }

  /** A message from a subscriber: a subscription, or (XPUB only) anything else. */
  protected inbound(pipe: Pipe, message: Message): void {
    const subscription = parseSubscription(message[0]!);
    if (subscription === undefined) {
      this.otherMessage(message);
      return;
    }
    if (this.manualMode) {
      this.noteRequest(pipe, subscription);
      this.subscriptionChanged(message, subscription.subscribe, true, true, pipe);
      return;
    }
    if (subscription.subscribe) {
      const { added, firstForTopic } = this.subscriptions.add(subscription.topic, pipe);
      this.subscriptionChanged(message, true, added, firstForTopic, pipe);
    } else {
      const { removed, lastForTopic } = this.subscriptions.remove(subscription.topic, pipe);
      this.subscriptionChanged(message, false, removed, lastForTopic, pipe);
    }
  }

  /**
   * Hook for XPUB: a subscription message from `from` (a subscribe when
   * `subscribe`) was applied, or, in manual mode, is for the application to apply.
   */
  protected subscriptionChanged(_message: Message, _subscribe: boolean, _changed: boolean, _topicEdge: boolean, _from: Pipe): void {}
  /** Hook for XPUB: a non-subscription message arrived. */
  protected otherMessage(_message: Message): void {}
  /** Hook for XPUB: nobody is subscribed to `topic` any more because a subscriber left. */
  protected topicAbandoned(_topic: Buffer): void {}

  protected isSubscriber(pipe: Pipe): boolean {
    return this.subscribers.has(pipe);
  }

  private noteRequest(pipe: Pipe, { subscribe, topic }: Subscription): void {
    let topics = this.requested.get(pipe);
    if (!topics) this.requested.set(pipe, (topics = new Map()));
    if (subscribe) topics.set(topic.toString("latin1"), Buffer.from(topic));
    else topics.delete(topic.toString("latin1"));
  }

  private dropSubscriber(pipe: Pipe): void {
    if (this.lastSubscriber === pipe) this.lastSubscriber = undefined;
    if (this.manualMode) {
      // As libzmq: a manual XPUB reports every topic the departing subscriber
      // still asked for, even if others hold it too (a proxy forwarded each
      // of its subscriptions upstream), and drops the application's choices silently.
      const topics = this.requested.get(pipe);
      this.requested.delete(pipe);
      this.subscriptions.removeMember(pipe);
      for (const topic of topics?.values() ?? []) this.topicAbandoned(topic);
      return;
    }
    this.subscriptions.removeMember(pipe, (topic) => this.topicAbandoned(topic));
  }
}
