import type { Observable } from "rxjs";
import type { Message } from "../codec/frame";
import type { MessageLike } from "./message";
import type { SocketBase } from "./socket-base";

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

/**
 * The constructor type TypeScript accepts as a mixin's result: it merges the
 * instance type `T` into the base's construct signatures, keeping their own
 * parameters. Only this exact `any[]` form counts as a mixin constructor.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Mixin<T> = abstract new (...args: any[]) => T;

/** Any socket class: SocketBase or an abstract socket base built on it. */
type SocketClass = { readonly prototype: SocketBase };

/**
 * Adds `send()` to a socket class: `class Push extends Writable(SocketBase)`.
 * The result keeps the base's constructor and members, so PUB and XPUB get it
 * on top of PublisherBase; the method is one call to SocketBase's sendMessage,
 * as a hand-written forwarder would be.
 */
export function Writable<TBase extends SocketClass>(Base: TBase): TBase & Mixin<Writable> {
  // Socket constructors are protected, which TypeScript lets no mixin extend
  // directly; the cast opens it for this class statement only, and the result
  // is typed with the base's own (protected) construct signature again.
  abstract class WritableSocket extends (Base as unknown as Mixin<SocketBase>) implements Writable {
    send(message: MessageLike | readonly MessageLike[]): Promise<void> {
      return this.sendMessage(message);
    }
  }
  return WritableSocket as unknown as TBase & Mixin<Writable>;
}

/**
 * Adds `receive()`, `messages$` and `for await` to a socket class:
 * `class Pull extends Readable(SocketBase)`, `class Dealer extends Readable(Writable(SocketBase))`.
 */
export function Readable<TBase extends SocketClass>(Base: TBase): TBase & Mixin<Readable> {
  abstract class ReadableSocket extends (Base as unknown as Mixin<SocketBase>) implements Readable {
    receive(): Promise<Message> {
      return this.receiveMessage();
    }
    get messages$(): Observable<Message> {
      return this.messageStream();
    }
    [Symbol.asyncIterator](): AsyncIterator<Message, undefined> {
      return this.messageIterator();
    }
  }
  return ReadableSocket as unknown as TBase & Mixin<Readable>;
}
