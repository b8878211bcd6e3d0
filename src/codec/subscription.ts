/**
 * Subscriptions in their two wire forms (RFC 29 / RFC 37):
 *
 * - the message form, a one-frame message `0x01 topic` (subscribe) or
 *   `0x00 topic` (unsubscribe): what ZMTP 3.0 peers send and expect, and
 *   what sockets exchange with their pipes and XPUB/XSUB applications;
 * - the command form of ZMTP 3.1, a `SUBSCRIBE topic` or `CANCEL topic`
 *   command, which the engine writes to 3.1 peers in place of the message form.
 *   Received commands are decoded with every other command by `decodeCommand`
 *   and turned back into the message form with {@link encodeSubscription}.
 */

/** First byte of a subscribe message. */
export const SUBSCRIBE = 0x01;
/** First byte of an unsubscribe message (CANCEL in the command form). */
export const UNSUBSCRIBE = 0x00;

/** One subscription change, whichever form carried it. */
export interface Subscription {
  /** true for subscribe, false for unsubscribe/CANCEL. */
  readonly subscribe: boolean;
  /** The topic prefix; a view into the frame it was parsed from. */
  readonly topic: Buffer;
}

/** The command names with their length byte, as they start a command body. */
const SUBSCRIBE_NAME = Buffer.from("\x09SUBSCRIBE", "latin1");
const CANCEL_NAME = Buffer.from("\x06CANCEL", "latin1");

/** Whether a frame is a subscription message (non-empty, first byte 0x01 or 0x00). Allocates nothing. */
export function isSubscription(frame: Buffer): boolean {
  return frame.length > 0 && (frame[0] === SUBSCRIBE || frame[0] === UNSUBSCRIBE);
}

/** The message form `0x01 topic` / `0x00 topic`, in one allocation. */
export function encodeSubscription(subscribe: boolean, topic: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(1 + topic.length);
  frame[0] = subscribe ? SUBSCRIBE : UNSUBSCRIBE;
  topic.copy(frame, 1);
  return frame;
}

/**
 * Reads the message form. A frame that is not a subscription (empty, or a
 * first byte other than 0x01/0x00) gives undefined, not an error: on an
 * XPUB such a message is ordinary data for the application.
 */
export function parseSubscription(frame: Buffer): Subscription | undefined {
  if (!isSubscription(frame)) return undefined;
  return { subscribe: frame[0] === SUBSCRIBE, topic: frame.subarray(1) };
}

/**
 * The ZMTP 3.1 command body (`SUBSCRIBE topic` / `CANCEL topic`, before
 * framing) carrying the same change as a message-form frame, built from the
 * frame directly in one allocation; undefined when the frame is no subscription.
 */
export function encodeSubscriptionCommand(frame: Buffer): Buffer | undefined {
  if (!isSubscription(frame)) return undefined;
  const name = frame[0] === SUBSCRIBE ? SUBSCRIBE_NAME : CANCEL_NAME;
  const body = Buffer.allocUnsafe(name.length + frame.length - 1);
  name.copy(body, 0);
  frame.copy(body, name.length, 1);
  return body;
}
