import { from, isObservable, Observable, of } from "rxjs";
import type { MessageLike } from "../../src";

/** A reply as a handler (or a caller) gives it: one frame, or several, as `send()` accepts. */
export type HandlerReply = MessageLike | readonly MessageLike[];

/**
 * What a request handler of any pattern may answer with: the reply at once,
 * a Promise (or any thenable) of it, or an Observable of replies. A throw,
 * a rejection and an Observable error all mean the same: the handler failed.
 */
export type HandlerResult<R = HandlerReply> = R | PromiseLike<R> | Observable<R>;

/**
 * A request handler, the one shape both families take: the Pirate workers
 * pass the request's body frames, the Majordomo worker a request object.
 *
 * An Observable's values are all replies to the same request, in order;
 * how many of them go out is the protocol's to say, since only some
 * protocols can send more than one reply to a request:
 * - Pirate (RFC 6/PPP, one reply per request): the first value; the
 *   Observable is then unsubscribed.
 * - Majordomo 0.2 (18/MDP): every value, each as a PARTIAL, the last as the FINAL.
 * - Majordomo 0.1 (7/MDP, one reply per request): the last value, as the REPLY.
 */
export type PatternHandler<Request, R = HandlerReply> = (request: Request) => HandlerResult<R>;

/** True for a Promise or any other thenable (what `await` would wait for). */
export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/**
 * A handler's result as an Observable of its replies, whatever shape it
 * answered in: a value is one reply, a Promise one reply once it settles,
 * an Observable stays as it is.
 */
export function resultAsObservable<R>(result: HandlerResult<R>): Observable<R> {
  if (isObservable(result)) return result;
  if (isPromiseLike<R>(result)) return from(result);
  return of(result as R);
}

/**
 * Runs `handler` on `request` on subscription, its result as an Observable
 * of replies; a synchronous throw arrives as the Observable's error, like a
 * rejection would.
 */
export function handlerReplies<Request, R>(handler: PatternHandler<Request, R>, request: Request): Observable<R> {
  return new Observable<R>((subscriber) => {
    let result: HandlerResult<R>;
    try {
      result = handler(request);
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }
    return resultAsObservable(result).subscribe(subscriber);
  });
}

/** A reply's frames as a list, ready to follow an envelope (the reply's own array when it is one: not copied). */
export function replyParts(reply: HandlerReply): readonly MessageLike[] {
  return Array.isArray(reply) ? (reply as readonly MessageLike[]) : [reply as MessageLike];
}
