import type { SchedulerLike, Subscription } from "rxjs";
import type { Message } from "../codec/frame";
import { PrivateerError } from "../errors";
import { Queue } from "../util/queue";

/** What `xsend` reports: sent (or dropped by the socket's rules), must wait for room, or failed. */
export type SendOutcome = true | false | PrivateerError;

interface SendWaiter {
  readonly message: Message;
  resolve(): void;
  reject(error: Error): void;
  timer?: Subscription;
  settled: boolean;
}

interface Receiver {
  /** Stream receivers (messages$) stay registered after each message. */
  readonly stream: boolean;
  deliver(message: Message): void;
  fail(error: Error): void;
  timer?: Subscription;
  settled: boolean;
}

/**
 * The send() calls waiting for room, served in call order: the oldest is
 * retried whenever room may have appeared, and none is refused as busy.
 */
export class SendQueue {
  private readonly waiters = new Queue<SendWaiter>();
  private running = false;

  /** `trySend` is the socket's routing rule (`xsend`). */
  constructor(
    private readonly trySend: (message: Message) => SendOutcome,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** No send() waits, so a new one may try the socket at once without overtaking anyone. */
  get idle(): boolean {
    return this.waiters.length === 0;
  }

  /** Queues a send() that found no room; it fails with EAGAIN after `timeout` ms (-1: never, 0: at once). */
  wait(message: Message, timeout: number): Promise<void> {
    if (timeout === 0) return Promise.reject(new PrivateerError("EAGAIN", "send would block and sendTimeout is 0"));
    return new Promise<void>((resolve, reject) => {
      const waiter: SendWaiter = { message, resolve, reject, settled: false };
      if (timeout > 0) {
        waiter.timer = this.scheduler.schedule(
          () => this.settle(waiter, new PrivateerError("EAGAIN", `send timed out after ${timeout} ms`)),
          timeout,
        );
      }
      this.waiters.push(waiter);
      // Earlier waiters may all have timed out: serve this one now if there is room.
      this.process();
    });
  }

  /** Sends for the waiters, oldest first, until the socket has no room. */
  process(): void {
    if (this.running) return;
    this.running = true;
    try {
      while (this.waiters.length > 0) {
        const waiter = this.waiters.peek()!;
        if (waiter.settled) {
          this.waiters.shift();
          continue;
        }
        const outcome = this.trySend(waiter.message);
        if (outcome === false) break;
        this.waiters.shift();
        this.settle(waiter, outcome === true ? undefined : outcome);
      }
    } finally {
      this.running = false;
    }
  }

  /** Fails every waiting send() (the socket is closing). */
  close(error: Error): void {
    for (let waiter = this.waiters.shift(); waiter; waiter = this.waiters.shift()) this.settle(waiter, error);
  }

  private settle(waiter: SendWaiter, error?: Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    waiter.timer?.unsubscribe();
    if (error) waiter.reject(error);
    else waiter.resolve();
  }
}

/**
 * The receive() calls and `messages$` subscriptions waiting for messages,
 * served in call order. A stream receiver goes to the back of the queue after
 * each message it takes, so it shares the socket fairly with receive() calls.
 */
export class ReceiveQueue {
  private readonly receivers = new Queue<Receiver>();
  private running = false;
  private wakeScheduled = false;
  private closed = false;

  /** `tryReceive` is the socket's routing rule (`xrecv`). */
  constructor(
    private readonly tryReceive: () => Message | undefined,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Nobody waits, so a new receive() may take a waiting message at once without overtaking anyone. */
  get idle(): boolean {
    return this.receivers.length === 0;
  }

  /** Queues a receive() that found no message; it fails with EAGAIN after `timeout` ms (-1: never, 0: at once). */
  wait(timeout: number): Promise<Message> {
    if (timeout === 0) return Promise.reject(new PrivateerError("EAGAIN", "no message and receiveTimeout is 0"));
    return new Promise<Message>((resolve, reject) => {
      const receiver: Receiver = { stream: false, deliver: resolve, fail: reject, settled: false };
      if (timeout > 0) {
        receiver.timer = this.scheduler.schedule(
          () => this.settle(receiver, undefined, new PrivateerError("EAGAIN", `receive timed out after ${timeout} ms`)),
          timeout,
        );
      }
      this.receivers.push(receiver);
      // Earlier receivers may all have been cancelled: serve this one now if a message waits.
      this.process();
    });
  }

  /** Registers a stream receiver, which takes messages until the returned function cancels it. */
  stream(deliver: (message: Message) => void, fail: (error: Error) => void): () => void {
    const receiver: Receiver = { stream: true, deliver, fail, settled: false };
    this.receivers.push(receiver);
    this.process();
    return () => {
      receiver.settled = true;
    };
  }

  /** Hands waiting messages to the receivers, oldest first, while the socket has any. */
  process(): void {
    if (this.running) return;
    this.running = true;
    try {
      while (this.receivers.length > 0) {
        const receiver = this.receivers.peek()!;
        if (receiver.settled) {
          this.receivers.shift();
          continue;
        }
        const message = this.tryReceive();
        if (message === undefined) break;
        this.receivers.shift();
        if (receiver.stream) {
          this.receivers.push(receiver);
          receiver.deliver(message);
        } else {
          this.settle(receiver, message);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** process() on the next turn of the event loop (once, however often asked). */
  processSoon(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (!this.closed) this.process();
    });
  }

  /** Fails every receiver (the socket is closing); nothing is served after this. */
  close(error: Error): void {
    this.closed = true;
    for (let receiver = this.receivers.shift(); receiver; receiver = this.receivers.shift()) this.settle(receiver, undefined, error);
  }

  private settle(receiver: Receiver, message: Message | undefined, error?: Error): void {
    if (receiver.settled) return;
    if (!receiver.stream) receiver.settled = true;
    receiver.timer?.unsubscribe();
    if (error) {
      receiver.settled = true;
      receiver.fail(error);
    } else receiver.deliver(message!);
  }
}
