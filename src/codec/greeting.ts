import { ProtocolError } from "../errors";

/** Length of a ZMTP 3.x greeting. */
export const GREETING_SIZE = 64;
/**
 * Bytes that decide whether the peer speaks ZMTP 2.0 or later: the signature
 * (10 bytes) plus the major version. ZMTP 1.0 peers are told apart at byte 9.
 */
export const GREETING_VERSION_PREFIX = 11;

export interface Greeting {
  readonly major: number;
  readonly minor: number;
  /** Mechanism name, e.g. "NULL", "PLAIN", "CURVE". */
  readonly mechanism: string;
  readonly asServer: boolean;
}

/**
 * Encodes the full 64-byte greeting. It must go out in one write: libzmq
 * reveals its own version only after it has read ours.
 */
export function encodeGreeting(greeting: Greeting): Buffer {
  const out = Buffer.alloc(GREETING_SIZE);
  out[0] = 0xff;
  out[9] = 0x7f;
  out[10] = greeting.major;
  out[11] = greeting.minor;
  if (greeting.mechanism.length > 20) throw new RangeError("mechanism name longer than 20 bytes");
  out.write(greeting.mechanism, 12, "ascii");
  out[32] = greeting.asServer ? 1 : 0;
  return out;
}

/**
 * Checks the signature and the major version from the first 11 bytes, before
 * the rest of the greeting has arrived. Throws a {@link ProtocolError}.
 *
 * The eight padding bytes (1-8) are deliberately not checked: ZMTP 1.0
 * compatibility puts a length there, and RFC 23 says to ignore them.
 */
export function checkGreetingPrefix(prefix: Buffer): number {
  // Decide as early as the bytes allow: a ZMTP 1.0 peer may send only a short identity frame and wait.
  if (prefix.length >= 1 && prefix[0] !== 0xff) {
    throw new ProtocolError("bad-signature", "peer did not send a ZMTP signature (ZMTP 1.0 or not ZeroMQ)");
  }
  if (prefix.length >= 10 && (prefix[9]! & 0x01) !== 0x01) {
    throw new ProtocolError("bad-signature", "peer did not send a ZMTP signature (ZMTP 1.0 or not ZeroMQ)");
  }
  if (prefix.length >= GREETING_VERSION_PREFIX) {
    const major = prefix[10]!;
    if (major < 3) {
      throw new ProtocolError("unsupported-version", `peer speaks ZMTP ${major}.x; Privateer needs 3.0 or later`);
    }
    return major;
  }
  return -1;
}

/** Decodes a complete 64-byte greeting. Throws a {@link ProtocolError}. */
export function decodeGreeting(bytes: Buffer): Greeting {
  if (bytes.length < GREETING_SIZE) throw new RangeError("greeting needs 64 bytes");
  checkGreetingPrefix(bytes);
  const mechanismField = bytes.subarray(12, 32);
  const end = mechanismField.indexOf(0);
  const mechanism = mechanismField.subarray(0, end === -1 ? 20 : end).toString("ascii");
  return { major: bytes[10]!, minor: bytes[11]!, mechanism, asServer: bytes[32] === 1 };
}
