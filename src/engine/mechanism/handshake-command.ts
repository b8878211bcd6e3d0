import { decodeCommand, type Command } from "../../codec/command";
import type { MechanismName } from "./mechanism";

/**
 * How libzmq 4.3 (4.3.4 and 4.3.5 checked) writes the ERROR command of its
 * PLAIN and CURVE handshakes: its C literal "\x05ERROR" reads as the byte
 * 0x5E followed by "RROR", so the name-length byte is missing. Its own
 * clients parse the same bytes, which is why libzmq talks to itself.
 */
const LIBZMQ_ERROR = Buffer.from([0x5e, 0x52, 0x52, 0x4f, 0x52]);
const READY_NAME = Buffer.from("\x05READY", "ascii");

/**
 * Decodes a command received during a security handshake. For PLAIN and
 * CURVE it also accepts libzmq 4.3's ERROR spelling, so a refusal by
 * a libzmq server is reported as the refusal it is (with its ZAP status)
 * rather than as a malformed command. NULL decodes exactly as before.
 */
export function decodeHandshakeCommand(body: Buffer, mechanism: MechanismName): Command {
  if (mechanism !== "NULL" && body.length >= 6 && body.subarray(0, 5).equals(LIBZMQ_ERROR) && body.length >= 6 + body[5]!) {
    return { name: "ERROR", reason: body.toString("utf8", 6, 6 + body[5]!) };
  }
  // CURVE's READY holds a nonce and a box, not properties: the mechanism opens it from the raw bytes.
  if (mechanism === "CURVE" && body.length >= 6 && body.subarray(0, 6).equals(READY_NAME)) {
    return { name: "UNKNOWN", commandName: "READY", data: body.subarray(6) };
  }
  return decodeCommand(body);
}
