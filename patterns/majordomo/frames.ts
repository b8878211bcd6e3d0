import type { MessageLike } from "../../src";
import { replyParts, type HandlerReply } from "../shared/handler";

/** What a handler or caller may give as a message body: one frame or several (as `send()` accepts); every pattern's {@link HandlerReply}. */
export type Body = HandlerReply;

const EMPTY = Buffer.alloc(0);

/** Normalises a body to frames the way sockets do: strings and numbers as UTF-8, null as an empty frame. */
export function toFrames(body: Body): Buffer[] {
  return replyParts(body).map(toFrame);
}

function toFrame(value: MessageLike): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value === null) return EMPTY;
  if (typeof value === "number") return Buffer.from(String(value), "utf8");
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.from(value);
}
