import { firstValueFrom } from "rxjs";
import type { MessageLike } from "../../src";
import { handlerReplies, replyParts, type PatternHandler, type HandlerReply } from "../shared/handler";

/** One reply: a frame, or several (the {@link HandlerReply} every pattern's handler gives). */
export type PirateReply = HandlerReply;

/**
 * Turns a request (its content frames, envelope removed) into a reply: the
 * {@link PatternHandler} shape every pattern takes. May answer at once, with a
 * Promise, or with an Observable whose first value is the reply (PPP has one
 * reply per request: the Observable is unsubscribed after it).
 */
export type PirateHandler = PatternHandler<Buffer[], PirateReply>;

/** Runs a handler and settles to its reply, whatever shape it answered in; an Observable's first value is the reply. */
export function runHandler(handler: PirateHandler, request: Buffer[]): Promise<PirateReply> {
  return firstValueFrom(handlerReplies(handler, request));
}

/** The reply as a list of frames, ready to follow the envelope. */
export function replyFrames(reply: PirateReply): readonly MessageLike[] {
  return replyParts(reply);
}
