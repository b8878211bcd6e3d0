/** Flag bits of a ZMTP frame header (RFC 23 / RFC 37, "Framing"). */
export const FrameFlags = {
  MORE: 0x01,
  LONG: 0x02,
  COMMAND: 0x04,
  /** Bits 3-7 are reserved and must be zero. */
  RESERVED: 0xf8,
} as const;

/** A message: the frames of one multipart message, in order. */
export type Message = Buffer[];

/** Largest frame body a short header can describe. */
export const SHORT_FRAME_MAX = 255;
