import type { Message } from "../codec/frame";
import { encodeSubscription } from "../codec/subscription";
import type { Pipe } from "../pipe/pipe";
import { PrivateerError } from "../errors";
import { Queue } from "../util/queue";
import { Readable, Writable } from "../socket/mixins";
import type { SocketSettings } from "../socket/options";
import { toFrame } from "../socket/message";
import { PublisherBase, type PublisherOptions } from "./publisher-base";

export interface XPublisherOptions extends PublisherOptions {
  /**
   * Which subscription messages reach the application: `null` only the first
   * subscribe and last unsubscribe of each topic, `"allSubs"` every subscribe,
   * `"allSubsUnsubs"` everything (ZMQ_XPUB_VERBOSE / VERBOSER). Default null.
   */
  verbosity?: null | "allSubs" | "allSubsUnsubs";
  /** Sent to each subscriber as it connects (ZMQ_XPUB_WELCOME_MSG). Default null. */
  welcomeMessage?: string | Buffer | null;
  /**
   * Subscriptions are not applied on arrival: the application receives every
   * one and decides with subscribe()/unsubscribe() (ZMQ_XPUB_MANUAL). Default false.
   */
  manual?: boolean;
}

/**
 * RFC 29 XPUB: a PUB whose application also receives the subscription
 * messages (`0x01 topic` / `0x00 topic`), and any other message subscribers
 * send upstream, to build proxies and last-value caches.
 */
export class XPublisher extends Readable(Writable(PublisherBase)) {
  /** Messages for the application; `from` is the subscriber of an (un)subscription, for manual mode. */
  private readonly pending = new Queue<{ message: Message; subscription: boolean; from?: Pipe }>();
  private verbose: null | "allSubs" | "allSubsUnsubs" = null;
  private welcome: Buffer | null = null;

  constructor(options: XPublisherOptions & SocketSettings = {}) {
    super("XPUB", options);
    this.configure(options);
  }

  /** See {@link XPublisherOptions.verbosity}. */
  get verbosity(): null | "allSubs" | "allSubsUnsubs" {
    return this.verbose;
  }
  /** Applies to subscription messages received from now on. */
  set verbosity(value: null | "allSubs" | "allSubsUnsubs") {
    this.verbose = value;
  }
  /** See {@link XPublisherOptions.welcomeMessage}; read back as a string. */
  get welcomeMessage(): string | null {
    return this.welcome ? this.welcome.toString() : null;
  }
  /** `null` turns it off. A Buffer is kept, not copied: to change the message, set a new one. */
  set welcomeMessage(value: string | Buffer | null) {
    this.welcome = value === null ? null : toFrame(value);
  }

  /** See {@link XPublisherOptions.manual}. */
  get manual(): boolean {
    return this.manualMode;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set manual(value: boolean) {
    this.manualMode = Boolean(value);
  }

  /**
   * Manual mode: subscribes the subscriber whose subscription message was
   * received last to `topic` (libzmq's ZMQ_SUBSCRIBE on an XPUB).
   */
  subscribe(topic: string | Buffer): void {
    this.manualChange(topic, true);
  }

  /** Manual mode: the reverse of subscribe(). */
  unsubscribe(topic: string | Buffer): void {
    this.manualChange(topic, false);
  }

  protected override xconnected(pipe: Pipe): void {
    if (this.welcome) pipe.write([this.welcome]);
  }

  protected override subscriptionChanged(
    message: Message,
    subscribe: boolean,
    changed: boolean,
    topicEdge: boolean,
    from: Pipe,
  ): void {
    const pass =
      this.verbose === "allSubsUnsubs" ||
      (this.verbose === "allSubs" && subscribe) ||
      (changed && topicEdge);
    if (pass) this.pending.push({ message, subscription: true, from });
  }

  protected override otherMessage(message: Message): void {
    this.pending.push({ message, subscription: false });
  }

  protected override topicAbandoned(topic: Buffer): void {
    // A departed subscriber's topics are reported as unsubscriptions, as libzmq does.
    this.pending.push({ message: [encodeSubscription(false, topic)], subscription: true });
    this.processReceives();
  }

  protected xrecv(): Message | undefined {
    const entry = this.pending.shift();
    if (!entry) return undefined;
    // As libzmq: manual subscribe() acts on the subscriber whose (un)subscription the application has just received.
    if (this.manualMode && entry.subscription) {
      this.lastSubscriber = entry.from && this.isSubscriber(entry.from) ? entry.from : undefined;
    }
    return entry.message;
  }

  private manualChange(topic: string | Buffer, subscribe: boolean): void {
    if (this.closed) throw new PrivateerError("EBADF", "Socket is closed");
    if (!this.manualMode) throw new PrivateerError("EINVAL", "XPublisher.subscribe() needs the manual option");
    const pipe = this.lastSubscriber;
    if (!pipe) return;
    const frame = toFrame(topic);
    if (subscribe) this.subscriptions.add(frame, pipe);
    else this.subscriptions.remove(frame, pipe);
  }
}
