import type { Command } from "../../codec/command";
import { ProtocolError } from "../../errors";
import type { Mechanism, MechanismStep, OwnProperties } from "./mechanism";
import { fail } from "./steps";

/**
 * The NULL mechanism (RFC 37): each side sends READY with its properties and
 * waits for the peer's. No authentication, no ZAP.
 */
export class NullMechanism implements Mechanism {
  readonly name = "NULL";
  // RFC 37: with NULL the as-server field MUST be zero (libzmq sends zero too).
  readonly asServer = false;

  constructor(private readonly properties: OwnProperties) {}

  start(): MechanismStep {
    return { status: "handshaking", send: [{ name: "READY", metadata: this.properties }] };
  }

  receive(command: Command): MechanismStep {
    if (command.name === "ERROR") {
      return fail(new ProtocolError("peer-error", `peer refused the handshake: ${command.reason}`));
    }
    if (command.name !== "READY") {
      return fail(new ProtocolError("unexpected-command", `expected READY, got ${command.name}`));
    }
    return { status: "ready", send: [], metadata: command.metadata };
  }

  zapReply(): MechanismStep {
    return fail(new ProtocolError("unexpected-command", "NULL does not consult ZAP"));
  }
}
