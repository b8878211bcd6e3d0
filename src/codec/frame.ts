/** Flag bits of a ZMTP frame header (RFC 23 / RFC 37, "Framing"). */
export const FrameFlags = {
  MORE: 0x01,
  LONG: 0x02,
  COMMAND: 0x04,
  /** Bits 3-7 are reserved and must be zero. */
  RESERVED: 0xf8,
} as const;

/** One decoded ZMTP frame. `body` may be a view into a larger received chunk. */
export interface Frame {
  readonly more: boolean;
  readonly command: boolean;
  readonly body: Buffer;
}

/** A message: the frames of one multipart message, in order. */
export type Message = Buffer[];

/** Largest frame body a short header can describe. */
export const SHORT_FRAME_MAX = 255;
