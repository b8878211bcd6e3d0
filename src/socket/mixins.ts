import type { Observable } from "rxjs";
import type { Message } from "../codec/frame";
import type { Readable as CanReceive, Writable as CanSend } from "./capabilities";
import type { MessageLike } from "./message";
import type { SocketBase } from "./socket-base";

// The mixins live apart from the Readable/Writable interfaces they implement:
// a function and an interface of one name in one module merge into one
// symbol, and the public `export type { Readable }` would then publish the
// function (and its helper types) in the API reference as well.

/**
 * The constructor type TypeScript accepts as a mixin's result: it merges the
 * instance type `T` into the base's construct signatures, keeping their own
 * parameters. Only this exact `any[]` form counts as a mixin constructor.
 */
export type Mixin<T> = abstract new (...args: any[]) => T;

/** Any socket class: SocketBase or an abstract socket base built on it. */
type SocketClass = { readonly prototype: SocketBase };

/**
 * Adds `send()` to a socket class: `class Push extends Writable(SocketBase)`.
 * The result keeps the base's constructor and members, so PUB and XPUB get it
 * on top of PublisherBase; the method is one call to SocketBase's sendMessage,
 * as a hand-written forwarder would be.
 */
export function Writable<TBase extends SocketClass>(Base: TBase): TBase & Mixin<CanSend> {
  // Socket constructors are protected, which TypeScript lets no mixin extend
  // directly; the cast opens it for this class statement only, and the result
  // is typed with the base's own (protected) construct signature again.
  abstract class WritableSocket extends (Base as unknown as Mixin<SocketBase>) implements CanSend {
    send(message: MessageLike | readonly MessageLike[]): Promise<void> {
      return this.sendMessage(message);
    }
  }
  return WritableSocket as unknown as TBase & Mixin<CanSend>;
}

/**
 * Adds `receive()`, `messages$` and `for await` to a socket class:
 * `class Pull extends Readable(SocketBase)`, `class Dealer extends Readable(Writable(SocketBase))`.
 */
export function Readable<TBase extends SocketClass>(Base: TBase): TBase & Mixin<CanReceive> {
  abstract class ReadableSocket extends (Base as unknown as Mixin<SocketBase>) implements CanReceive {
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
  return ReadableSocket as unknown as TBase & Mixin<CanReceive>;
}
