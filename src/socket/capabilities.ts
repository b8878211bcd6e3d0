import type { Observable } from "rxjs";
import type { Message } from "../codec/frame";
import type { MessageLike } from "./message";

// Socket types get these capabilities from the Readable(Base)/Writable(Base) mixins in ./mixins.

/** A socket that can send (zeromq.js's `Writable`). */
export interface Writable {
  /**
   * Queues a message (one frame, or an array of frames) for sending. Resolves
   * once the socket has accepted it; waits while every pipe is full and
   * rejects with EAGAIN after `sendTimeout`. Concurrent calls are served in order.
   */
  send(message: MessageLike | readonly MessageLike[]): Promise<void>;
}

/** A socket that can receive (zeromq.js's `Readable`), also as an async iterable and an RxJS stream. */
export interface Readable extends AsyncIterable<Message> {
  /** Resolves with the next whole message; rejects with EAGAIN after `receiveTimeout` or on close. */
  receive(): Promise<Message>;
  /** Received messages as a shared stream; completes when the socket closes. */
  readonly messages$: Observable<Message>;
  /** For `for await`: takes messages from the same queue as `receive()`, and ends the loop, rather than throwing, once the socket closes. */
  [Symbol.asyncIterator](): AsyncIterator<Message, undefined>;
}
