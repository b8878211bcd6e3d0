/**
 * The commands of RFC 6 (Paranoid Pirate Protocol). Each is a one-frame
 * message holding a single byte; everything else on a PPP connection is a
 * request or a reply.
 */

/** The byte a worker sends, alone in a one-frame message, to start (or restart) a conversation. */
export const PPP_READY = 0x01;
/** The byte either side sends, alone in a one-frame message, as a sign of life. */
export const PPP_HEARTBEAT = 0x02;

/** What a one-frame PPP command message looks like on the wire. */
export type PppCommand = "ready" | "heartbeat";

/** A fresh READY frame (`01`). A new buffer each time so callers may not corrupt a shared one. */
export function pppReadyFrame(): Buffer {
  return Buffer.from([PPP_READY]);
}

/** A fresh HEARTBEAT frame (`02`). */
export function pppHeartbeatFrame(): Buffer {
  return Buffer.from([PPP_HEARTBEAT]);
}

/**
 * The command a message carries, or undefined when it is a request or reply.
 * Only a message of exactly one frame of exactly one byte can be a command,
 * so a one-byte request body inside an envelope is never mistaken for one.
 */
export function pppCommand(frames: readonly Buffer[]): PppCommand | undefined {
  if (frames.length !== 1 || frames[0]!.length !== 1) return undefined;
  switch (frames[0]![0]) {
    case PPP_READY:
      return "ready";
    case PPP_HEARTBEAT:
      return "heartbeat";
    default:
      return undefined;
  }
}

/** A message split at its first empty frame: the address stack (with the delimiter) and the content. */
export interface Envelope {
  /** Address frames followed by the empty delimiter; empty when the message had no delimiter. */
  readonly envelope: Buffer[];
  /** The content frames. */
  readonly body: Buffer[];
}

/** Splits a request at its null terminator (RFC 6: "optional address stack with null terminator"). */
export function splitEnvelope(frames: readonly Buffer[]): Envelope {
  const at = frames.findIndex((frame) => frame.length === 0);
  if (at < 0) return { envelope: [], body: [...frames] };
  return { envelope: frames.slice(0, at + 1), body: frames.slice(at + 1) };
}

/** Hex of an identity, for events and logs (ROUTER-generated ids are binary). */
export function idText(id: Buffer): string {
  return id.toString("hex");
}
