import { firstValueFrom, isObservable, type Observable } from "rxjs";
import type { MessageLike } from "../../src";

/** One reply: a frame, or several. */
export type PirateReply = MessageLike | readonly MessageLike[];

/**
 * Turns a request (its content frames, envelope removed) into a reply. May
 * answer at once, with a Promise, or with an Observable whose first value
 * is the reply (the rest is ignored: one request, one reply).
 */
export type PirateHandler = (request: Buffer[]) => PirateReply | Promise<PirateReply> | Observable<PirateReply>;

/** Runs a handler and settles to its reply, whatever shape it answered in. */
export async function runHandler(handler: PirateHandler, request: Buffer[]): Promise<PirateReply> {
  const result = handler(request);
  if (isObservable(result)) return firstValueFrom(result);
  return result;
}

/** The reply as a list of frames, ready to follow the envelope. */
export function replyFrames(reply: PirateReply): MessageLike[] {
  return Array.isArray(reply) ? [...(reply as readonly MessageLike[])] : [reply as MessageLike];
}
