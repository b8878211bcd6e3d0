import type { Command } from "../../codec/command";
import { AuthenticationError, ProtocolError } from "../../errors";
import type { MechanismStep, ZapRequest } from "./mechanism";

/** A mechanism-specific command (HELLO, WELCOME, INITIATE, ...), which the codec carries by name. */
export const command = (commandName: string, data: Buffer = Buffer.alloc(0)): Command => ({ name: "UNKNOWN", commandName, data });

/** A refusal step: write `send` (an ERROR, usually), then close. */
export const fail = (error: ProtocolError, send: readonly Command[] = []): MechanismStep => ({ status: "error", send, error });

/** A received command's name, whether the codec knows it or carries it by name. */
export const nameOf = (received: Command): string => (received.name === "UNKNOWN" ? received.commandName : received.name);

/**
 * An ERROR a PLAIN or CURVE server sent us. libzmq's server puts the ZAP
 * status code (e.g. "400") in it when its handler refused `what` (our
 * credentials, our key); anything else is a plain refusal.
 */
export function refusedByServer(reason: string, what: string): ProtocolError {
  if (/^[345]\d\d$/.test(reason)) {
    return new AuthenticationError(Number(reason), `server refused ${what} (ZAP status ${reason})`);
  }
  return new ProtocolError("peer-error", `peer refused the handshake: ${reason}`);
}

/** The step of a server that has the client's credentials: ask the ZAP handler before going on (RFC 27). */
export const askZap = (request: ZapRequest): MechanismStep => ({ status: "zap", send: [], request });
