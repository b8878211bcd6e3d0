/**
 * Z85 (ZeroMQ RFC 32): the printable encoding libzmq, pyzmq and zeromq.js use
 * for CURVE keys. Every 4 bytes, read as a big-endian number, become 5 digits
 * in base 85, most significant first.
 *
 * Errors never quote the text or the bytes: what is being encoded or decoded
 * is usually a secret key.
 */

/** RFC 32's digits, in value order. */
const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Character code -> digit value, or -1 for characters outside the alphabet. */
const DIGIT_OF = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

const MAX_WORD = 0xffffffff;

/**
 * Malformed Z85 input. A RangeError, as Node raises for bad encodings, with
 * zeromq.js's `EINVAL` code so option setters can pass it on unchanged.
 */
export class Z85Error extends RangeError {
  /** Always `EINVAL`: the argument is invalid. */
  readonly code = "EINVAL" as const;

  constructor(message: string) {
    super(message);
    this.name = "Z85Error";
  }
}

/**
 * Encodes bytes as Z85 text.
 *
 * @param data - Bytes to encode; the length must be a multiple of 4 (a CURVE key is 32 bytes, 40 characters).
 * @throws {@link Z85Error} (a RangeError) when the length is not a multiple of 4.
 */
export function encodeZ85(data: Uint8Array): string {
  if (data.length % 4 !== 0) {
    throw new Z85Error(`Z85 encodes whole 4-byte groups; got ${data.length} bytes, not a multiple of 4`);
  }
  let text = "";
  const digits = new Array<string>(5);
  for (let offset = 0; offset < data.length; offset += 4) {
    // Multiplication, not shifts: a shift would make the top byte's word negative.
    let word = data[offset]! * 0x1000000 + ((data[offset + 1]! << 16) | (data[offset + 2]! << 8) | data[offset + 3]!);
    for (let i = 4; i >= 0; i--) {
      digits[i] = ALPHABET[word % 85]!;
      word = Math.floor(word / 85);
    }
    text += digits.join("");
  }
  return text;
}

/**
 * Decodes Z85 text into bytes.
 *
 * @param text - Z85 text; the length must be a multiple of 5, and only RFC 32's 85 characters may appear.
 * @throws {@link Z85Error} (a RangeError) when the length is wrong, a character lies outside the
 * alphabet, or a group of five digits is worth more than 2^32 - 1 (such text has no byte form;
 * libzmq's decoder would silently wrap it).
 */
export function decodeZ85(text: string): Buffer {
  if (text.length % 5 !== 0) {
    throw new Z85Error(`Z85 text comes in whole 5-character groups; got ${text.length} characters, not a multiple of 5`);
  }
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let group = 0; group < text.length / 5; group++) {
    let word = 0;
    for (let i = 0; i < 5; i++) {
      const position = group * 5 + i;
      const code = text.charCodeAt(position);
      const digit = code < 128 ? DIGIT_OF[code]! : -1;
      if (digit < 0) throw new Z85Error(`Z85 text has a character outside the Z85 alphabet at position ${position}`);
      word = word * 85 + digit;
    }
    if (word > MAX_WORD) {
      throw new Z85Error(`Z85 group ${group} (characters ${group * 5}-${group * 5 + 4}) is worth more than 2^32 - 1`);
    }
    out.writeUInt32BE(word, group * 4);
  }
  return out;
}

/** True when `text` is well-formed Z85 (right length, alphabet, no overflowing group). */
export function isZ85(text: string): boolean {
  try {
    decodeZ85(text);
    return true;
  } catch {
    return false;
  }
}
