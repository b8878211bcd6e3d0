/**
 * The mechanisms without I/O: each step's commands and outcome, byte for
 * byte where the wire format matters (RFC 24 HELLO), and the refusals.
 */
import { encodeCommand, type Command } from "../../../src/codec/command";
import { encodeMetadata } from "../../../src/codec/metadata";
import { AuthenticationError, ProtocolError } from "../../../src/errors";
import { decodeHandshakeCommand } from "../../../src/engine/mechanism/handshake-command";
import { NullMechanism, PlainClient, PlainServer, type MechanismStep, type ZapReply } from "../../../src/engine/mechanism";

const OWN = new Map([["Socket-Type", Buffer.from("DEALER")]]);
const unknown = (commandName: string, data: Buffer = Buffer.alloc(0)): Command => ({ name: "UNKNOWN", commandName, data });
const allow = (userId: string): ZapReply => ({ statusCode: "200", statusText: "OK", userId, metadata: new Map() });
const errorOf = (step: MechanismStep): ProtocolError => {
  if (step.status !== "error") throw new Error(`expected an error step, got ${step.status}`);
  return step.error;
};

describe("PlainClient", () => {
  it("opens with HELLO carrying length-prefixed username and password (RFC 24)", () => {
    const step = new PlainClient(OWN, Buffer.from("ann"), Buffer.from("pw")).start();
    expect(step.status).toBe("handshaking");
    expect(encodeCommand(step.send[0]!)).toEqual(Buffer.from("\x05HELLO\x03ann\x02pw", "latin1"));
  });

  it("answers WELCOME with INITIATE carrying its properties, and is ready on READY", () => {
    const client = new PlainClient(OWN, Buffer.from("ann"), Buffer.from("pw"));
    client.start();
    const initiate = client.receive(unknown("WELCOME"));
    expect(encodeCommand(initiate.send[0]!)).toEqual(Buffer.concat([Buffer.from("\x08INITIATE", "latin1"), encodeMetadata(OWN)]));
    const peer = new Map([["Socket-Type", Buffer.from("ROUTER")]]);
    const ready = client.receive({ name: "READY", metadata: peer });
    expect(ready).toEqual({ status: "ready", send: [], metadata: peer });
  });

  it("reports libzmq 4.3's misspelt ERROR with a ZAP status as an AuthenticationError", () => {
    const client = new PlainClient(OWN, Buffer.from("ann"), Buffer.from("pw"));
    client.start();
    const fromLibzmq = decodeHandshakeCommand(Buffer.from("\x5eRROR\x03400", "latin1"), "PLAIN");
    const error = errorOf(client.receive(fromLibzmq));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(400);
  });

  it("refuses READY before WELCOME and calls a HELLO from the peer a role mismatch", () => {
    const a = new PlainClient(OWN, Buffer.alloc(0), Buffer.alloc(0));
    a.start();
    expect(errorOf(a.receive({ name: "READY", metadata: new Map() })).reason).toBe("unexpected-command");
    const b = new PlainClient(OWN, Buffer.alloc(0), Buffer.alloc(0));
    b.start();
    expect(errorOf(b.receive(unknown("HELLO", Buffer.from([0, 0])))).reason).toBe("role-mismatch");
  });
});

describe("PlainServer", () => {
  const hello = unknown("HELLO", Buffer.from("\x03ann\x06secret", "latin1"));
  const server = () => new PlainServer(OWN, "dom", Buffer.from("srv"), "127.0.0.1");

  it("asks ZAP with the RFC 27 fields, then WELCOME, INITIATE -> READY with User-Id from ZAP only", () => {
    const s = server();
    expect(s.start().send).toEqual([]);
    const zap = s.receive(hello);
    expect(zap).toMatchObject({
      status: "zap",
      request: { domain: "dom", address: "127.0.0.1", identity: Buffer.from("srv"), mechanism: "PLAIN" },
    });
    if (zap.status !== "zap") throw new Error("no zap step");
    expect(zap.request.credentials.map(String)).toEqual(["ann", "secret"]);
    expect(s.zapReply(allow("ann-id")).send).toEqual([unknown("WELCOME")]);
    // A client claiming a User-Id of its own does not get it.
    const initiate = unknown("INITIATE", encodeMetadata([["Socket-Type", "DEALER"], ["User-Id", "root"]]));
    const ready = s.receive(initiate);
    if (ready.status !== "ready") throw new Error(`expected ready, got ${ready.status}`);
    expect(ready.send).toEqual([{ name: "READY", metadata: OWN }]);
    expect(ready.metadata.get("user-id")?.toString()).toBe("ann-id");
    expect(ready.metadata.get("socket-type")?.toString()).toBe("DEALER");
  });

  it("sends ERROR with the status on a ZAP refusal, and the error text holds no password", () => {
    const s = server();
    s.receive(hello);
    const step = s.zapReply({ statusCode: "400", statusText: "no", userId: "", metadata: new Map() });
    expect(step.send).toEqual([{ name: "ERROR", reason: "400" }]);
    const error = errorOf(step);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(400);
    expect(`${error.message}${String(error.stack)}`).not.toContain("secret");
  });

  it("refuses when no ZAP handler is bound, and never sends WELCOME", () => {
    const s = server();
    s.receive(hello);
    const step = s.zapReply(undefined);
    expect(errorOf(step).reason).toBe("no-zap-handler");
    expect(step.send).toEqual([]);
  });

  it("refuses a HELLO with bytes after the password, and INITIATE before ZAP has allowed", () => {
    expect(errorOf(server().receive(unknown("HELLO", Buffer.from("\x01a\x01bX", "latin1")))).reason).toBe("malformed-command");
    const s = server();
    s.receive(hello);
    expect(s.receive(unknown("INITIATE")).status).toBe("error");
  });
});

describe("NullMechanism and the handshake decoder", () => {
  it("NULL sends READY, is ready on READY and reports ERROR as before", () => {
    const n = new NullMechanism(OWN);
    expect(n.start().send).toEqual([{ name: "READY", metadata: OWN }]);
    expect(errorOf(n.receive({ name: "ERROR", reason: "go away" })).message).toBe("peer refused the handshake: go away");
    expect(errorOf(new NullMechanism(OWN).receive(unknown("HELLO"))).message).toBe("expected READY, got UNKNOWN");
  });

  it("leaves NULL's decoding alone: the libzmq ERROR spelling stays malformed there", () => {
    expect(() => decodeHandshakeCommand(Buffer.from("\x5eRROR\x03400", "latin1"), "NULL")).toThrow(/too short/);
    expect(decodeHandshakeCommand(Buffer.from("\x05ERROR\x03400", "latin1"), "PLAIN")).toEqual({ name: "ERROR", reason: "400" });
  });
});
