/**
 * The CURVE options follow zeromq.js's names and libzmq's rules: any key
 * selects CURVE, `curveServerKey` makes a client, `curveServer` a server,
 * `false` returns to NULL; keys are 40 Z85 characters or 32 bytes and read
 * back as Z85; bad keys fail with EINVAL without quoting the value; and no
 * secret key shows when the socket is inspected, logged or serialised.
 */
import { inspect } from "node:util";
import { Writable } from "node:stream";
import pino from "pino";
import { curveKeyPair, Dealer, decodeZ85, PrivateerError, Pull, Push } from "../../src";
import { nextEvent } from "../helpers/endpoints";

const sockets: { close(): void }[] = [];
afterEach(() => sockets.splice(0).forEach((socket) => socket.close()));
const dealer = (options: ConstructorParameters<typeof Dealer>[0] = {}) => {
  const socket = new Dealer({ linger: 0, ...options });
  sockets.push(socket);
  return socket;
};
const keys = curveKeyPair();
const server = curveKeyPair();

it("unset keys read as null and the socket is not a CURVE server", () => {
  const socket = dealer();
  expect([socket.curveServer, socket.curvePublicKey, socket.curveSecretKey, socket.curveServerKey]).toEqual([false, null, null, null]);
  expect(socket.securityMechanism).toBeNull();
});

it("takes Z85 text or 32 bytes and reads back Z85", () => {
  const socket = dealer({ curveSecretKey: keys.secretKey, curvePublicKey: decodeZ85(keys.publicKey) });
  expect(socket.curveSecretKey).toBe(keys.secretKey);
  expect(socket.curvePublicKey).toBe(keys.publicKey);
  socket.curveServerKey = new Uint8Array(decodeZ85(server.publicKey));
  expect(socket.curveServerKey).toBe(server.publicKey);
});

it("libzmq's role rules: curveServer true/false, curveServerKey makes a client, null clears a key", () => {
  const socket = dealer({ curveServer: true, curveSecretKey: keys.secretKey });
  expect(socket.curveServer).toBe(true);
  expect(socket.securityMechanism).toBe("curve");
  socket.curveServerKey = server.publicKey;
  expect(socket.curveServer).toBe(false);
  socket.curveServer = true;
  expect(socket.curveServer).toBe(true);
  socket.curveServer = false;
  expect(socket.curveServer).toBe(false);
  expect(socket.securityMechanism).toBeNull();
  // PLAIN and CURVE share the role, as in libzmq: the last one set wins.
  socket.curveServer = true;
  socket.plainServer = true;
  expect([socket.curveServer, socket.plainServer, socket.securityMechanism]).toEqual([false, true, "plain"]);
  socket.curveSecretKey = null;
  expect(socket.curveSecretKey).toBeNull();
});

it.each<[string, unknown]>([
  ["39 characters", "a".repeat(39)],
  ["40 characters outside Z85", "~".repeat(40)],
  ["31 bytes", Buffer.alloc(31)],
  ["a number", 42],
])("refuses %s with EINVAL, never quoting the value", (_what, value) => {
  let thrown: unknown;
  try {
    dealer({ curveSecretKey: value as string });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PrivateerError);
  expect((thrown as PrivateerError).code).toBe("EINVAL");
  expect((thrown as Error).message).toMatch(/curveSecretKey/);
  if (typeof value === "string") expect((thrown as Error).message).not.toContain(value);
});

it("a curvePublicKey that does not belong to curveSecretKey fails the handshake with invalid-key", async () => {
  const pull = new Pull({ curveServer: true, curveSecretKey: server.secretKey, linger: 0 });
  sockets.push(pull);
  await pull.bind("tcp://127.0.0.1:*");
  const push = new Push({
    curveServerKey: server.publicKey,
    curveSecretKey: keys.secretKey,
    curvePublicKey: curveKeyPair().publicKey,
    linger: 0,
    reconnectInterval: -1,
  });
  sockets.push(push);
  const failure = nextEvent(push, "handshake:error");
  push.connect(pull.lastEndpoint!);
  expect((await failure).error.reason).toBe("invalid-key");
  // Control: without the wrong public key (derived from the secret) the same client connects.
  const good = new Push({ curveServerKey: server.publicKey, curveSecretKey: keys.secretKey, linger: 0 });
  sockets.push(good);
  const handshake = nextEvent(good, "handshake");
  good.connect(pull.lastEndpoint!);
  await handshake;
});

it("no secret key in inspect output, JSON or the socket's debug log through a whole handshake", async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: "trace" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const pull = new Pull({ curveServer: true, curveSecretKey: server.secretKey, linger: 0, logger });
  const push = new Push({ curveServerKey: server.publicKey, curveSecretKey: keys.secretKey, linger: 0, logger });
  sockets.push(pull, push);
  await pull.bind("tcp://127.0.0.1:*");
  const handshake = nextEvent(pull, "handshake");
  push.connect(pull.lastEndpoint!);
  await handshake;
  await push.send("hi");
  await pull.receive();
  const secrets = [server.secretKey, keys.secretKey];
  const hex = secrets.map((z85) => [...decodeZ85(z85).subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" "));
  const shown = [inspect(pull, { depth: 8, showHidden: true }), inspect(push, { depth: 8, showHidden: true }), lines.join("\n")].join("\n");
  expect(lines.length).toBeGreaterThan(0);
  // The inspection reached the options: the wrapped key shows as such.
  expect(shown).toContain("[secret key]");
  for (const text of [...secrets, ...hex]) expect(shown).not.toContain(text);
  // Control: the getter does hand the key back to whoever asks for it.
  expect(push.curveSecretKey).toBe(keys.secretKey);
});
