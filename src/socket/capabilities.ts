import type { Observable } from "rxjs";
import type { Message } from "../codec/frame";
import type { MessageLike } from "./message";
import { SocketBase } from "./socket-base";

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
}

/** Base of sockets that only send: PUSH, PUB. */
export abstract class WritableSocket extends SocketBase implements Writable {
  send(message: MessageLike | readonly MessageLike[]): Promise<void> {
    return this.sendMessage(message);
  }
}

/** Base of sockets that only receive: PULL, SUB. */
export abstract class ReadableSocket extends SocketBase implements Readable {
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
}

/** Base of sockets that send and receive. */
export abstract class DuplexSocket extends SocketBase implements Readable, Writable {
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
}
