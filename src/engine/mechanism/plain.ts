import type { Command } from "../../codec/command";
import { decodeMetadata, encodeMetadata, PropertyMap, type Metadata } from "../../codec/metadata";
import { AuthenticationError, ProtocolError } from "../../errors";
import type { Mechanism, MechanismStep, OwnProperties, ZapReply } from "./mechanism";
import { askZap, command, fail, nameOf, refusedByServer } from "./steps";

/** RFC 24 caps username and password at 255 bytes each: one length byte. */
export const PLAIN_CREDENTIAL_MAX = 255;

/**
 * PLAIN client (RFC 24): HELLO with the credentials, then, after WELCOME,
 * INITIATE with our properties; the server's READY ends the handshake.
 *
 * The password is kept only to build HELLO and never appears in an error.
 */
export class PlainClient implements Mechanism {
  readonly name = "PLAIN";
  readonly asServer = false;
  private state: "hello" | "welcome" | "ready" = "hello";

  constructor(
    private readonly properties: OwnProperties,
    private readonly username: Buffer,
    private readonly password: Buffer,
  ) {
    if (username.length > PLAIN_CREDENTIAL_MAX || password.length > PLAIN_CREDENTIAL_MAX) {
      throw new RangeError("PLAIN username and password are at most 255 bytes each");
    }
  }

  start(): MechanismStep {
    const hello = Buffer.concat([
      Buffer.from([this.username.length]),
      this.username,
      Buffer.from([this.password.length]),
      this.password,
    ]);
    this.state = "welcome";
    return { status: "handshaking", send: [command("HELLO", hello)] };
  }

  receive(received: Command): MechanismStep {
    if (received.name === "ERROR") return fail(refusedByServer(received.reason, "our PLAIN credentials"));
    if (this.state === "welcome") {
      // Only a client sends HELLO: the peer is a PLAIN client too.
      if (received.name === "UNKNOWN" && received.commandName === "HELLO") {
        return fail(new ProtocolError("role-mismatch", "both peers are PLAIN clients"));
      }
      if (nameOf(received) !== "WELCOME") {
        return fail(new ProtocolError("unexpected-command", `PLAIN client expected WELCOME, got ${nameOf(received)}`));
      }
      this.state = "ready";
      return { status: "handshaking", send: [command("INITIATE", encodeMetadata(this.properties))] };
    }
    if (this.state === "ready" && received.name === "READY") {
      return { status: "ready", send: [], metadata: received.metadata };
    }
    return fail(new ProtocolError("unexpected-command", `PLAIN client expected READY, got ${nameOf(received)}`));
  }

  zapReply(): MechanismStep {
    return fail(new ProtocolError("unexpected-command", "a PLAIN client does not consult ZAP"));
  }
}

/**
 * PLAIN server (RFC 24 with RFC 27 ZAP): HELLO's credentials go to the ZAP
 * handler; on 200 it sends WELCOME, reads INITIATE and answers READY. A
 * refusal sends ERROR with the ZAP status code, as libzmq does.
 *
 * Like libzmq 4.3, a PLAIN server with no ZAP handler bound refuses every
 * client (checked against pyzmq/libzmq 4.3.4): PLAIN without a handler
 * would accept any password.
 */
export class PlainServer implements Mechanism {
  readonly name = "PLAIN";
  readonly asServer = true;
  private state: "hello" | "zap" | "initiate" | "done" = "hello";
  private userId = "";
  private zapMetadata: Metadata = new Map();

  constructor(
    private readonly properties: OwnProperties,
    private readonly zapDomain: string,
    private readonly routingId: Buffer,
    private readonly peerAddress: string,
  ) {}

  start(): MechanismStep {
    return { status: "handshaking", send: [] };
  }

  receive(received: Command): MechanismStep {
    if (received.name === "ERROR") return fail(new ProtocolError("peer-error", `peer refused the handshake: ${received.reason}`));
    const name = nameOf(received);
    if (this.state === "hello") {
      if (received.name !== "UNKNOWN" || name !== "HELLO") {
        return fail(new ProtocolError("unexpected-command", `PLAIN server expected HELLO, got ${name}`));
      }
      const credentials = parseHello(received.data);
      if (!credentials) return fail(new ProtocolError("malformed-command", "malformed PLAIN HELLO"));
      this.state = "zap";
      return askZap({ domain: this.zapDomain, address: this.peerAddress, identity: this.routingId, mechanism: "PLAIN", credentials });
    }
    if (this.state === "initiate") {
      if (received.name !== "UNKNOWN" || name !== "INITIATE") {
        return fail(new ProtocolError("unexpected-command", `PLAIN server expected INITIATE, got ${name}`));
      }
      const peer = decodeMetadata(received.data);
      this.state = "done";
      // The user id comes from ZAP only: a client cannot claim one in INITIATE.
      const merged = [...peer].filter(([key]) => key.toLowerCase() !== "user-id");
      const metadata = new PropertyMap([...merged, ...this.zapMetadata, ["User-Id", Buffer.from(this.userId)]]);
      return { status: "ready", send: [{ name: "READY", metadata: this.properties }], metadata };
    }
    return fail(new ProtocolError("unexpected-command", `PLAIN server did not expect ${name} now`));
  }

  zapReply(reply: ZapReply | undefined): MechanismStep {
    if (this.state !== "zap") return fail(new ProtocolError("unexpected-command", "ZAP reply without a request"));
    if (reply === undefined) {
      return fail(new ProtocolError("no-zap-handler", "PLAIN server refused a client: no ZAP handler is bound on inproc://zeromq.zap.01"));
    }
    if (reply.statusCode !== "200") {
      const status = /^\d{3}$/.test(reply.statusCode) ? reply.statusCode : "500";
      this.state = "done";
      return fail(new AuthenticationError(Number(status), `ZAP handler refused the client (status ${status})`), [
        { name: "ERROR", reason: status },
      ]);
    }
    this.userId = reply.userId;
    this.zapMetadata = reply.metadata;
    this.state = "initiate";
    return { status: "handshaking", send: [command("WELCOME")] };
  }
}

/** HELLO body: username-len, username, password-len, password, nothing after. */
function parseHello(data: Buffer): [Buffer, Buffer] | undefined {
  if (data.length < 1) return undefined;
  const userLength = data[0]!;
  if (data.length < 1 + userLength + 1) return undefined;
  const passLength = data[1 + userLength]!;
  if (data.length !== 2 + userLength + passLength) return undefined;
  return [Buffer.from(data.subarray(1, 1 + userLength)), Buffer.from(data.subarray(2 + userLength))];
}
