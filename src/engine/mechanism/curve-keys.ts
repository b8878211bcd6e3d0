import { inspect } from "node:util";
import { encodeZ85 } from "../../codec/z85";
import { PrivateerError } from "../../errors";
import { curveKeyBytes, type CurveKey } from "../../security/curve/key-pair";

/**
 * A long-term secret key, held so that nothing prints it by accident:
 * `util.inspect` (and so pino and console), `JSON.stringify` and string
 * conversion all show `[secret key]`. Only the mechanism reads the bytes.
 */
export class SecretKey {
  readonly #bytes: Buffer;

  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }

  /** The raw 32 bytes; for the handshake and the option getter only. */
  reveal(): Buffer {
    return this.#bytes;
  }

  toJSON(): string {
    return "[secret key]";
  }

  toString(): string {
    return "[secret key]";
  }

  [inspect.custom](): string {
    return "SecretKey [secret key]";
  }
}

/**
 * A CURVE key option value as zeromq.js takes it (40 characters of Z85, or
 * 32 bytes), as raw bytes; `null` or `undefined` clears it.
 * @throws PrivateerError EINVAL (its cause the {@link CurveKeyError}) for
 * anything else; the message never quotes the value, which may be a secret key.
 */
export function curveKeyOption(name: string, value: CurveKey | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" && !(value instanceof Uint8Array)) {
    throw new PrivateerError("EINVAL", `${name} must be a Z85 string or a Buffer`);
  }
  try {
    return curveKeyBytes(value, name);
  } catch (error) {
    throw new PrivateerError("EINVAL", (error as Error).message, { cause: error });
  }
}

/** A key as the option getters return it, like zeromq.js: Z85 text. */
export function keyText(key: Buffer | SecretKey | null): string | null {
  if (key === null) return null;
  return encodeZ85(key instanceof SecretKey ? key.reveal() : key);
}
