/**
 * The CURVE mechanism without I/O: CurveClient and CurveServer driven
 * against each other, the wire layout libzmq 4.3 uses (command sizes as
 * captured from pyzmq), the MESSAGE codec's nonces and flags, and each
 * refusal: wrong server key, replayed HELLO, forged, short or foreign
 * cookie, bad boxes, vouch for another key, replayed or reordered MESSAGE.
 * Every refusal test has its genuine counterpart passing in the same test.
 */
import { inspect } from "node:util";
import { encodeCommand, type Command } from "../../../src/codec/command";
import { FrameFlags } from "../../../src/codec/frame";
import { encodeZ85 } from "../../../src/codec/z85";
import { AuthenticationError, ProtocolError } from "../../../src/errors";
import {
  CurveClient,
  CurveServer,
  SecretKey,
  type Mechanism,
  type MechanismStep,
  type MessageCodec,
  type ZapReply,
} from "../../../src/engine/mechanism";
import { decodeHandshakeCommand } from "../../../src/engine/mechanism/handshake-command";
import { encodeMetadata } from "../../../src/codec/metadata";
import { generateKeyPair, open, precompute, randomBytes, seal } from "../../../src/security/curve/crypto";

const OWN_CLIENT = new Map([["Socket-Type", Buffer.from("DEALER")], ["Identity", Buffer.from("c1")]]);
const OWN_SERVER = new Map([["Socket-Type", Buffer.from("ROUTER")]]);
const serverKeys = generateKeyPair();
const clientKeys = generateKeyPair();
const otherKeys = generateKeyPair();

const newServer = (secret = serverKeys.secretKey) => new CurveServer(OWN_SERVER, new SecretKey(secret), null, "dom", Buffer.from("srv"), "127.0.0.1");
const newClient = (keys = clientKeys, serverKey = serverKeys.publicKey) =>
  new CurveClient(OWN_CLIENT, { serverKey, publicKey: keys.publicKey, secretKey: new SecretKey(keys.secretKey) });

/** What crosses the wire: each command encoded, then decoded by the receiver as the engine does. */
const wire = (command: Command): Command => decodeHandshakeCommand(encodeCommand(command), "CURVE");
const only = (step: MechanismStep): Command => {
  expect(step.send).toHaveLength(1);
  return wire(step.send[0]!);
};
const errorOf = (step: MechanismStep): ProtocolError => {
  if (step.status !== "error") throw new Error(`expected an error step, got ${step.status}`);
  return step.error;
};
const dataOf = (command: Command): Buffer => {
  if (command.name !== "UNKNOWN") throw new Error(`expected a raw command, got ${command.name}`);
  return command.data;
};
const allow = (userId: string): ZapReply => ({ statusCode: "200", statusText: "OK", userId, metadata: new Map([["X-Zap", Buffer.from("z")]]) });

interface Handshake {
  client: CurveClient;
  server: CurveServer;
  hello: Command;
  welcome: Command;
  initiate: Command;
}

/** Runs HELLO, WELCOME and INITIATE; the server is then waiting for ZAP. */
function upToInitiate(client = newClient(), server = newServer()): Handshake {
  expect(server.start()).toEqual({ status: "handshaking", send: [] });
  const hello = only(client.start());
  const welcome = only(server.receive(hello));
  const initiate = only(client.receive(welcome));
  return { client, server, hello, welcome, initiate };
}

/** A completed handshake and both codecs. */
function completed(): { client: MessageCodec; server: MessageCodec; clientStep: MechanismStep; serverStep: MechanismStep } {
  const { client, server, initiate } = upToInitiate();
  const zap = server.receive(initiate);
  expect(zap.status).toBe("zap");
  const serverStep = server.zapReply(undefined);
  if (serverStep.status !== "ready") throw new Error(serverStep.status);
  const clientStep = client.receive(only(serverStep));
  if (clientStep.status !== "ready") throw new Error(clientStep.status);
  return { client: clientStep.codec!, server: serverStep.codec!, clientStep, serverStep };
}

describe("handshake", () => {
  it("has libzmq 4.3's command sizes: HELLO 200, WELCOME 168 bytes with their names; HELLO's version 1.0 and 72 zeros", () => {
    const { hello, welcome, initiate } = upToInitiate();
    const helloBytes = encodeCommand(hello);
    expect(helloBytes.length).toBe(200);
    expect(helloBytes.subarray(0, 6).toString("latin1")).toBe("\x05HELLO");
    expect([...helloBytes.subarray(6, 8)]).toEqual([1, 0]);
    expect(helloBytes.subarray(8, 80).equals(Buffer.alloc(72))).toBe(true);
    expect(encodeCommand(welcome).length).toBe(168);
    // INITIATE: name, cookie 96, nonce 8, box of C 32 + vouch 96 + metadata + 16.
    const metadataLength = 1 + 11 + 4 + 6 + (1 + 8 + 4 + 2);
    expect(encodeCommand(initiate).length).toBe(9 + 96 + 8 + 16 + 32 + 96 + metadataLength);
  });

  it("asks ZAP with the client's long-term key; ZAP's user id and metadata reach the peer's properties", () => {
    const { client, server, initiate } = upToInitiate();
    const zap = server.receive(initiate);
    if (zap.status !== "zap") throw new Error(zap.status);
    expect(zap.request).toMatchObject({ domain: "dom", address: "127.0.0.1", mechanism: "CURVE" });
    expect(zap.request.credentials).toEqual([clientKeys.publicKey]);
    const ready = server.zapReply(allow("alice"));
    if (ready.status !== "ready") throw new Error(ready.status);
    expect(ready.metadata.get("User-Id")?.toString()).toBe("alice");
    expect(ready.metadata.get("X-Zap")?.toString()).toBe("z");
    expect(ready.metadata.get("Socket-Type")?.toString()).toBe("DEALER");
    expect(ready.metadata.get("Identity")?.toString()).toBe("c1");
    const clientReady = client.receive(only(ready));
    if (clientReady.status !== "ready") throw new Error(clientReady.status);
    expect(clientReady.metadata.get("Socket-Type")?.toString()).toBe("ROUTER");
  });

  it("without a ZAP handler accepts (libzmq 4.3's CURVE rule) and assigns no User-Id", () => {
    const { serverStep } = completed();
    if (serverStep.status !== "ready") throw new Error(serverStep.status);
    expect(serverStep.metadata.get("User-Id")).toBeUndefined();
  });

  it("a ZAP refusal sends ERROR with the status; the client reports it as AuthenticationError", () => {
    const { client, server, initiate } = upToInitiate();
    server.receive(initiate);
    const refused = server.zapReply({ statusCode: "400", statusText: "no", userId: "", metadata: new Map() });
    expect(errorOf(refused)).toBeInstanceOf(AuthenticationError);
    expect(refused.send).toEqual([{ name: "ERROR", reason: "400" }]);
    const onClient = errorOf(client.receive(only(refused)));
    expect(onClient).toBeInstanceOf(AuthenticationError);
    expect((onClient as AuthenticationError).status).toBe(400);
    // libzmq's misspelt ERROR carries the same meaning.
    const fromLibzmq = decodeHandshakeCommand(Buffer.from("\x5eRROR\x03400", "latin1"), "CURVE");
    const other = upToInitiate();
    expect((errorOf(other.client.receive(fromLibzmq)) as AuthenticationError).status).toBe(400);
  });

  it("wrong server key: the server cannot open HELLO (decrypt-failed); a client cannot open a WELCOME made with another key", () => {
    const client = newClient(clientKeys, otherKeys.publicKey);
    expect(errorOf(newServer().receive(only(client.start()))).reason).toBe("decrypt-failed");
    // The server that does hold that key answers, and its WELCOME opens only for the client that expected it.
    const impostor = newServer(otherKeys.secretKey);
    const welcome = only(impostor.receive(only(newClient(clientKeys, otherKeys.publicKey).start())));
    const expecting = newClient();
    expecting.start();
    expect(errorOf(expecting.receive(welcome)).reason).toBe("decrypt-failed");
  });

  it("refuses a malformed HELLO: wrong size, wrong version", () => {
    const hello = dataOf(only(newClient().start()));
    const as = (data: Buffer): Command => ({ name: "UNKNOWN", commandName: "HELLO", data });
    expect(errorOf(newServer().receive(as(hello.subarray(0, 100)))).reason).toBe("malformed-command");
    const v2 = Buffer.from(hello);
    v2[0] = 2;
    expect(errorOf(newServer().receive(as(v2))).reason).toBe("unsupported-version");
    expect(newServer().receive(as(hello)).status).toBe("handshaking");
  });

  it("a replayed HELLO on the same connection is refused; the genuine handshake went on", () => {
    const { server, hello } = upToInitiate();
    expect(errorOf(server.receive(hello)).reason).toBe("unexpected-command");
  });

  it("refuses a short cookie, a forged cookie and a cookie from another connection", () => {
    const short = upToInitiate();
    const data = dataOf(short.initiate);
    expect(errorOf(short.server.receive({ name: "UNKNOWN", commandName: "INITIATE", data: data.subarray(0, 200) })).reason).toBe(
      "malformed-command",
    );

    const forged = upToInitiate();
    const flipped = Buffer.from(dataOf(forged.initiate));
    flipped[40] ^= 1;
    expect(errorOf(forged.server.receive({ name: "UNKNOWN", commandName: "INITIATE", data: flipped })).reason).toBe("decrypt-failed");

    // Connection A's INITIATE (its cookie) presented to connection B's server: B's cookie key differs.
    const a = upToInitiate();
    const b = upToInitiate();
    expect(errorOf(b.server.receive(a.initiate)).reason).toBe("decrypt-failed");
    // Control: each genuine INITIATE passes.
    expect(a.server.receive(a.initiate).status).toBe("zap");
  });

  /**
   * Plays the client by hand with the crypto primitives, so the vouch can be
   * made wrong in one way at a time: made with another secret key than the
   * long-term key presented, naming another transient key, or another server.
   */
  function handInitiate(vouch: { secret: Buffer; presented: Buffer; transient?: Buffer; server?: Buffer }): MechanismStep {
    const server = newServer();
    const transient = generateKeyPair();
    const helloKey = precompute(serverKeys.publicKey, transient.secretKey)!;
    const nonce = (prefix: string, tail: Buffer) => Buffer.concat([Buffer.from(prefix, "latin1"), tail]);
    const short = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const hello = Buffer.concat([Buffer.from([1, 0]), Buffer.alloc(72), transient.publicKey, short(1), seal(Buffer.alloc(64), nonce("CurveZMQHELLO---", short(1)), helloKey)]);
    const welcome = dataOf(only(server.receive({ name: "UNKNOWN", commandName: "HELLO", data: hello })));
    const plain = open(welcome.subarray(16), nonce("WELCOME-", welcome.subarray(0, 16)), helloKey)!;
    const serverTransient = plain.subarray(0, 32);
    const cookie = plain.subarray(32);
    const vouchNonce = randomBytes(16);
    const vouchBox = seal(
      Buffer.concat([vouch.transient ?? transient.publicKey, vouch.server ?? serverKeys.publicKey]),
      nonce("VOUCH---", vouchNonce),
      precompute(serverTransient, vouch.secret)!,
    );
    const session = precompute(serverTransient, transient.secretKey)!;
    const box = seal(
      Buffer.concat([vouch.presented, vouchNonce, vouchBox, encodeMetadata(OWN_CLIENT)]),
      nonce("CurveZMQINITIATE", short(2)),
      session,
    );
    return server.receive({ name: "UNKNOWN", commandName: "INITIATE", data: Buffer.concat([cookie, short(2), box]) });
  }

  it("refuses an INITIATE whose vouch does not hold: another key than presented, another transient key, another server", () => {
    // Control: the hand-made client with an honest vouch is accepted.
    expect(handInitiate({ secret: clientKeys.secretKey, presented: clientKeys.publicKey }).status).toBe("zap");
    // Presents someone else's long-term key without its secret.
    expect(errorOf(handInitiate({ secret: clientKeys.secretKey, presented: otherKeys.publicKey })).reason).toBe("decrypt-failed");
    // A vouch lifted from another connection names that connection's transient key.
    expect(errorOf(handInitiate({ secret: clientKeys.secretKey, presented: clientKeys.publicKey, transient: otherKeys.publicKey })).reason).toBe(
      "decrypt-failed",
    );
    // A vouch made for another server.
    expect(errorOf(handInitiate({ secret: clientKeys.secretKey, presented: clientKeys.publicKey, server: otherKeys.publicKey })).reason).toBe(
      "decrypt-failed",
    );
    // A client with mismatched options never gets as far as HELLO.
    const mismatched = new CurveClient(OWN_CLIENT, {
      serverKey: serverKeys.publicKey,
      publicKey: otherKeys.publicKey,
      secretKey: new SecretKey(clientKeys.secretKey),
    });
    expect(errorOf(mismatched.start()).reason).toBe("invalid-key");
  });

  it("a READY that does not open is refused", () => {
    const { client, server, initiate } = upToInitiate();
    server.receive(initiate);
    const ready = dataOf(only(server.zapReply(undefined)));
    const bad = Buffer.from(ready);
    bad[bad.length - 1] ^= 1;
    expect(errorOf(client.receive({ name: "UNKNOWN", commandName: "READY", data: bad })).reason).toBe("decrypt-failed");
  });

  it("missing keys fail the handshake with invalid-key; the role mismatches are named", () => {
    expect(errorOf(new CurveServer(OWN_SERVER, null, null, "", Buffer.alloc(0), "").start()).reason).toBe("invalid-key");
    expect(errorOf(new CurveClient(OWN_CLIENT, { serverKey: null, publicKey: null, secretKey: new SecretKey(clientKeys.secretKey) }).start()).reason).toBe(
      "invalid-key",
    );
    expect(errorOf(new CurveClient(OWN_CLIENT, { serverKey: serverKeys.publicKey, publicKey: null, secretKey: null }).start()).reason).toBe("invalid-key");
    // Two clients: each gets the other's HELLO.
    const a = newClient();
    const b = newClient();
    a.start();
    expect(errorOf(a.receive(only(b.start()))).reason).toBe("role-mismatch");
    // Two servers: one sees the other's WELCOME instead of HELLO.
    const welcome = only(newServer().receive(only(newClient().start())));
    expect(errorOf(newServer().receive(welcome)).reason).toBe("role-mismatch");
  });
});

describe("MESSAGE codec", () => {
  it("carries frames with MORE and COMMAND inside the box; nonces continue after the handshake as libzmq's do", () => {
    const { client, server } = completed();
    const first = client.encode(Buffer.from("hello"), FrameFlags.MORE);
    expect(first.subarray(0, 8).toString("latin1")).toBe("\x07MESSAGE");
    // Client used 1 (HELLO) and 2 (INITIATE); server used 1 (READY).
    expect(first.readBigUInt64BE(8)).toBe(3n);
    expect(first.length).toBe(8 + 8 + 16 + 1 + 5);
    expect(server.decode(first)).toEqual({ flags: FrameFlags.MORE, body: Buffer.from("hello") });
    const ping = server.encode(Buffer.from("\x04PING\x00\x00", "latin1"), FrameFlags.COMMAND);
    expect(ping.readBigUInt64BE(8)).toBe(2n);
    expect(client.decode(ping)).toEqual({ flags: FrameFlags.COMMAND, body: Buffer.from("\x04PING\x00\x00", "latin1") });
    expect(server.decode(client.encode(Buffer.alloc(0), 0))).toEqual({ flags: 0, body: Buffer.alloc(0) });
  });

  it("a replayed MESSAGE fails with nonce-replayed, a reordered one too; the genuine sequence passed", () => {
    const { client, server } = completed();
    const one = client.encode(Buffer.from("one"), 0);
    const two = client.encode(Buffer.from("two"), 0);
    expect(server.decode(one).body.toString()).toBe("one");
    expect(() => server.decode(one)).toThrow(expect.objectContaining({ reason: "nonce-replayed" }));
    const fresh = completed();
    const a = fresh.client.encode(Buffer.from("a"), 0);
    const b = fresh.client.encode(Buffer.from("b"), 0);
    expect(fresh.server.decode(b).body.toString()).toBe("b");
    expect(() => fresh.server.decode(a)).toThrow(expect.objectContaining({ reason: "nonce-replayed" }));
    expect(server.decode(two).body.toString()).toBe("two");
  });

  it("a MESSAGE that does not open fails with decrypt-failed and does not move the nonce; one for the other direction does not open", () => {
    const { client, server } = completed();
    const genuine = client.encode(Buffer.from("payload"), 0);
    const tampered = Buffer.from(genuine);
    tampered[tampered.length - 1] ^= 0x80;
    expect(() => server.decode(tampered)).toThrow(expect.objectContaining({ reason: "decrypt-failed" }));
    // A forged nonce jump must not lock out the genuine message that follows.
    const jumped = Buffer.from(genuine);
    jumped.writeBigUInt64BE(1000n, 8);
    expect(() => server.decode(jumped)).toThrow(expect.objectContaining({ reason: "decrypt-failed" }));
    expect(server.decode(genuine).body.toString()).toBe("payload");
    // Reflected back to its sender: the other direction's nonce prefix, so it cannot open.
    expect(() => client.decode(genuine)).toThrow(expect.objectContaining({ reason: "decrypt-failed" }));
    expect(() => server.decode(Buffer.from("\x07MESSAGE", "latin1"))).toThrow(expect.objectContaining({ reason: "malformed-command" }));
  });
});

describe("secrecy", () => {
  it("inspecting mechanisms, codecs or a SecretKey shows no key material", () => {
    const { client, server } = upToInitiate();
    const codecs = completed();
    const secretKey = new SecretKey(clientKeys.secretKey);
    const shown = [client, server, codecs.client, codecs.server, secretKey].map((o: object | Mechanism) => inspect(o, { depth: 10, showHidden: true })).join("\n");
    const hexes = [clientKeys.secretKey, serverKeys.secretKey].flatMap((key) => [key.toString("hex"), encodeZ85(key)]);
    for (const text of hexes) expect(shown).not.toContain(text);
    // Inspect prints a Buffer as hex bytes "<Buffer 1a 2b ...>": look for the first bytes that way as well.
    for (const key of [clientKeys.secretKey, serverKeys.secretKey]) {
      expect(shown).not.toContain([...key.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" "));
    }
    expect(JSON.stringify({ secretKey })).toBe('{"secretKey":"[secret key]"}');
    expect(String(secretKey)).toBe("[secret key]");
    // Control: the same inspection does show a key that is not wrapped.
    expect(inspect({ key: clientKeys.secretKey })).toContain([...clientKeys.secretKey.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" "));
  });
});
