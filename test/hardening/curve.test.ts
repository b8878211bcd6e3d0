/**
 * CURVE protocol hardening (issue 12): a raw CurveZMQ peer
 * (test/helpers/raw-curve-peer.ts, built from RFC 26 with only the crypto
 * primitives shared) breaks one step of the handshake or of the MESSAGE
 * stream at a time, against a Privateer CURVE server (and, for what a
 * server sends, a Privateer CURVE client).
 *
 * Every refusal must show up as a typed event (ProtocolError with the
 * reason, AuthenticationError with the ZAP status), close that connection,
 * deliver nothing to the application, and leave the socket's other
 * connection working: a good Privateer peer exchanges messages with the same
 * socket before, during and after every attack. No error text and no pino
 * log line (captured at trace level) may contain a secret key.
 */
import * as net from "node:net";
import { firstValueFrom, filter, type Subscription } from "rxjs";
import { AuthenticationError, Dealer, encodeZ85, ProtocolError, Router, zapAuthenticator, type ProtocolErrorReason, type SocketBase, type ZapAuthenticator } from "../../src";
import { generateKeyPair, type CurveKeyPairBytes } from "../../src/security/curve/crypto";
import { nextEvent } from "../helpers/endpoints";
import {
  CURVE_SIZES,
  flipBit,
  NonceObserver,
  nonIncreasing,
  RawCurveClient,
  RawCurveServer,
  type RawCurveServerConnection,
} from "../helpers/raw-curve-peer";
import { zmtp, type RawPeer } from "../helpers/raw-zmtp-peer";

const serverKeys = generateKeyPair();
/** The Privateer client that keeps talking through every attack. */
const goodKeys = generateKeyPair();
/** A raw client the ZAP handler allows. */
const rawKeys = generateKeyPair();
/** A key the ZAP handler denies (status 400), and one it defers (status 300). */
const deniedKeys = generateKeyPair();
const laterKeys = generateKeyPair();
const z85 = (bytes: Buffer): string => encodeZ85(bytes);

// ---------------------------------------------------------------- secrets

/** Every secret the test knows; raw peers add their transient secrets and session keys as they make them. */
const secrets: Buffer[] = [serverKeys.secretKey, goodKeys.secretKey, rawKeys.secretKey, deniedKeys.secretKey, laterKeys.secretKey];

/** The ways a 32-byte secret could be printed: Z85 (the option text), hex, base64, and a Buffer's JSON byte list. */
function secretForms(secret: Buffer): string[] {
  return [z85(secret), secret.toString("hex"), secret.toString("base64"), `[${[...secret.subarray(0, 12)].join(",")}`, `${[...secret.subarray(0, 12)].join(",")}`];
}

function expectNoSecret(text: string): void {
  for (const secret of secrets) for (const form of secretForms(secret)) expect(text).not.toContain(form);
}

// ---------------------------------------------------------------- logs, ZAP, cleanup

let logLines: string[] = [];
let logger: import("pino").Logger;
let auth: ZapAuthenticator | undefined;
const cleanups: Array<() => void | Promise<void>> = [];
/** Every error any Privateer socket reported in the current test. */
const reported: Error[] = [];
/** The ZAP handler's decisions in the current test, as Z85 keys with their status. */
const decisions: Array<{ key: string; status: number }> = [];

beforeAll(async () => {
  const { default: pino } = await import("pino");
  logger = pino({ level: "trace" }, { write: (line: string) => void logLines.push(line) });
});

beforeEach(async () => {
  logLines = [];
  reported.length = 0;
  decisions.length = 0;
  // Allow-list of the good client and the raw client; one key deferred (300), everything else denied (400).
  const allowed = new Set([z85(goodKeys.publicKey), z85(rawKeys.publicKey)]);
  auth = await zapAuthenticator((request) => {
    const key = request.curvePublicKey ?? "";
    if (allowed.has(key)) return { allow: true, userId: key === z85(goodKeys.publicKey) ? "good-user" : "raw-user" };
    return key === z85(laterKeys.publicKey) ? { allow: false, status: 300 } : { allow: false };
  });
  const recording = auth.decisions$.subscribe((outcome) => decisions.push({ key: outcome.curvePublicKey ?? "", status: outcome.status }));
  cleanups.push(() => recording.unsubscribe());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  auth?.close();
  auth = undefined;
  // The debug logs recorded each failure (so the check below looked at something), and no secret.
  const text = logLines.join("");
  expect(text).toContain('"msg":"handshake"');
  for (const error of reported) expect(text).toContain(JSON.stringify(error.message).slice(1, -1));
  expectNoSecret(text);
  for (const error of reported) expectNoSecret(`${error.message} ${String(error.stack)} ${JSON.stringify(error)} ${String((error as { cause?: unknown }).cause ?? "")}`);
});

/** The reasons in the ERROR commands a Privateer peer sent to a raw one hold no secret either. */
function expectNoSecretInErrors(wire: RawPeer): void {
  for (const frame of wire.seen) {
    const { name, data } = zmtp.commandOf(frame);
    if (name === "ERROR") expectNoSecret(data.toString("latin1"));
  }
}

/** Records every error event of `socket` for the secret check. */
function watchErrors(socket: SocketBase): void {
  const subscription: Subscription = socket.events$.subscribe((event) => {
    if ((event.type === "handshake:error" || event.type === "protocol:error") && event.error) reported.push(event.error);
    if (event.type === "disconnect" && event.error) reported.push(event.error);
  });
  cleanups.push(() => subscription.unsubscribe());
}

// ---------------------------------------------------------------- the good peer's traffic

/**
 * Round after round of traffic between the good pair while a test attacks
 * the same socket. Anything else that reaches the application is kept in
 * `others`, so a test can say exactly what (usually nothing) got through.
 */
class Traffic {
  rounds = 0;
  readonly others: string[][] = [];
  failure?: unknown;
  private stopped = false;
  private readonly done: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(private readonly round: (n: number, others: string[][]) => Promise<void>) {
    this.done = this.run().catch((error: unknown) => {
      this.failure = error;
      this.wake();
    });
  }

  /** Resolves once `count` more rounds have completed. */
  async advance(count = 3): Promise<void> {
    const target = this.rounds + count;
    while (this.rounds < target) {
      if (this.failure !== undefined) throw this.failure;
      if (this.stopped) throw new Error("traffic stopped");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once `others` holds `count` messages (they arrive among the good rounds, fairly queued). */
  async collect(count: number): Promise<void> {
    while (this.others.length < count) await this.advance(1);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    if (this.failure !== undefined) throw this.failure;
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      await this.round(n, this.others);
      this.rounds++;
      this.wake();
      // Yield to the event loop, so the attack interleaves with the traffic.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

const text = (frames: Buffer[]): string[] => frames.map((frame) => frame.toString());

// ---------------------------------------------------------------- server under attack

interface ServerUnderAttack {
  readonly router: Router;
  readonly endpoint: string;
  readonly traffic: Traffic;
  /** A raw client connected to the router; its secrets join the ones nothing may print. */
  raw(options?: { keys?: CurveKeyPairBytes; serverKey?: Buffer; metadata?: Record<string, string | Buffer> }): Promise<RawCurveClient>;
}

/**
 * A Privateer CURVE ROUTER with the good DEALER connected and already
 * exchanging requests and replies. The traffic is checked when the test ends:
 * it kept going, and the router received nothing from anyone else.
 */
async function serverUnderAttack(options: { handshakeInterval?: number; withoutZap?: boolean } = {}): Promise<ServerUnderAttack> {
  if (options.withoutZap) {
    auth?.close();
    auth = undefined;
  }
  const router = new Router({
    curveServer: true,
    curveSecretKey: z85(serverKeys.secretKey),
    handshakeInterval: options.handshakeInterval ?? 5000,
    linger: 0,
    logger,
  });
  const good = new Dealer({
    curveServerKey: z85(serverKeys.publicKey),
    curvePublicKey: z85(goodKeys.publicKey),
    curveSecretKey: z85(goodKeys.secretKey),
    routingId: "good",
    linger: 0,
    logger,
  });
  cleanups.push(() => {
    router.close();
    good.close();
  });
  watchErrors(router);
  watchErrors(good);
  await router.bind("tcp://127.0.0.1:*");
  const endpoint = router.lastEndpoint!;
  const handshake = nextEvent(router, "handshake");
  good.connect(endpoint);
  expect((await handshake).peer.metadata.get("User-Id")?.toString()).toBe(options.withoutZap ? undefined : "good-user");
  // From here on, decisions are about the raw clients only.
  decisions.length = 0;
  const traffic = new Traffic(async (n, others) => {
    await good.send(`ping ${n}`);
    for (;;) {
      const message = text(await router.receive());
      if (message[0] === "good" && message[1] === `ping ${n}`) break;
      others.push(message);
    }
    await router.send(["good", `pong ${n}`]);
    const reply = text(await good.receive());
    expect(reply).toEqual([`pong ${n}`]);
  });
  cleanups.push(async () => {
    await traffic.stop();
    expect(traffic.rounds).toBeGreaterThan(0);
    // The bounded wait that shows nothing else is queued for the application.
    router.receiveTimeout = 150;
    const late = await router.receive().then(text, (error: { code?: string }) => error.code);
    expect(late).toBe("EAGAIN");
    expect(traffic.others).toEqual([]);
  });
  await traffic.advance(2);
  const raw = async (rawOptions: { keys?: CurveKeyPairBytes; serverKey?: Buffer; metadata?: Record<string, string | Buffer> } = {}) => {
    const client = await RawCurveClient.connect(endpoint, {
      serverKey: rawOptions.serverKey ?? serverKeys.publicKey,
      keys: rawOptions.keys ?? rawKeys,
      metadata: rawOptions.metadata,
    });
    secrets.push(client.transient.secretKey);
    cleanups.push(() => {
      if (client.sessionKey) secrets.push(client.sessionKey);
      client.wire.destroy();
      expectNoSecretInErrors(client.wire);
    });
    return client;
  };
  return { router, endpoint, traffic, raw };
}

type FailureEvent = "handshake:error" | "protocol:error";

/**
 * The refusal the test expects: the event with `reason` (an
 * AuthenticationError with `status` when given), the raw connection closed by
 * the server, and the good traffic still flowing afterwards.
 */
async function expectRefused(
  target: { readonly traffic: Traffic },
  failure: Promise<{ error: ProtocolError }>,
  wire: RawPeer,
  reason: ProtocolErrorReason,
  status?: number,
): Promise<ProtocolError> {
  const { error } = await failure;
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.code).toBe("EPROTO");
  expect({ reason: error.reason, message: error.message }).toMatchObject({ reason });
  if (status !== undefined) {
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(status);
  }
  await wire.whenClosed();
  await target.traffic.advance(3);
  return error;
}

function failureOn(socket: SocketBase, type: FailureEvent = "handshake:error"): Promise<{ error: ProtocolError }> {
  return nextEvent(socket, type, 8000);
}

describe("raw CURVE client against a Privateer CURVE server", () => {
  it("control: the raw client completes the handshake, and messages cross both ways inside MESSAGE boxes", async () => {
    const target = await serverUnderAttack();
    const handshake = firstValueFrom(target.router.events$.pipe(filter((e) => e.type === "handshake" && e.peer.routingId.toString() === "raw")));
    const raw = await target.raw({ metadata: { "Socket-Type": "DEALER", Identity: "raw", "X-Origin": "raw peer" } });
    const ready = await raw.handshake();
    expect(ready.get("socket-type")?.toString()).toBe("ROUTER");
    const event = await handshake;
    expect(event.type === "handshake" && event.peer.metadata.get("User-Id")?.toString()).toBe("raw-user");
    expect(event.type === "handshake" && event.peer.metadata.get("X-Origin")?.toString()).toBe("raw peer");
    raw.sendMessage("from", "raw");
    // The traffic loop is the router's only reader: the raw message lands among its `others`.
    await target.traffic.collect(1);
    await target.router.send(["raw", "to", "raw"]);
    expect(await raw.readText()).toEqual(["to", "raw"]);
    // A gap in the short nonces is fine: they must increase, not count by one.
    raw.sendMessage("before gap");
    raw.nextNonce += 1000n;
    raw.sendMessage("after gap");
    await target.traffic.collect(3);
    expect(target.traffic.others).toEqual([["raw", "from", "raw"], ["raw", "before gap"], ["raw", "after gap"]]);
    target.traffic.others.length = 0;
  });
});

describe("the server refuses a raw client", () => {
  it("with the wrong server key: HELLO's box does not open (decrypt-failed), no WELCOME, ZAP never asked", async () => {
    const target = await serverUnderAttack();
    const failure = failureOn(target.router);
    const raw = await target.raw({ serverKey: generateKeyPair().publicKey });
    raw.sendHello();
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
    expect(raw.wire.commandsSeen).not.toContain("WELCOME");
    expect(decisions).toEqual([]);
  });

  it.each([
    ["denies (400)", deniedKeys, 400],
    ["defers (300)", laterKeys, 300],
  ] as const)("whose key the ZAP handler %s: AuthenticationError with that status, ERROR to the client, no READY", async (_, keys, status) => {
    const target = await serverUnderAttack();
    const failure = failureOn(target.router);
    const raw = await target.raw({ keys });
    raw.sendHello();
    await raw.readWelcome();
    raw.sendInitiate();
    const error = await expectRefused(target, failure, raw.wire, "authentication-failed", status);
    expect(error.message).toContain(String(status));
    expect(decisions).toEqual([{ key: z85(keys.publicKey), status }]);
    // libzmq's rule: the ZAP status travels in the ERROR command; READY never came.
    const commands = raw.wire.seen.map((frame) => frame.body.toString("latin1"));
    expect(commands.some((body) => body.startsWith("\x05ERROR") && body.endsWith(String(status)))).toBe(true);
    expect(raw.wire.commandsSeen).not.toContain("READY");
  });

  it("that presents an allowed client's public key without its secret: the vouch does not open, ZAP never asked", async () => {
    const target = await serverUnderAttack();
    const failure = failureOn(target.router);
    const raw = await target.raw({ keys: deniedKeys });
    raw.sendHello();
    await raw.readWelcome();
    // Claims to be the good client; can only vouch with its own secret key.
    raw.sendInitiate(raw.initiateData({ clientKey: goodKeys.publicKey }));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
    expect(decisions).toEqual([]);
  });

  describe("a replayed HELLO", () => {
    it("sent again on the same connection after WELCOME: unexpected-command", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      const hello = raw.sendHello();
      await raw.readWelcome();
      raw.wire.write(hello);
      await expectRefused(target, failure, raw.wire, "unexpected-command");
    });

    it("sent twice in one write, before WELCOME went out: unexpected-command", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      const hello = zmtp.command("HELLO", raw.helloData());
      raw.wire.write(hello, hello);
      await expectRefused(target, failure, raw.wire, "unexpected-command");
      expect(decisions).toEqual([]);
    });

    it("a whole recorded connection (HELLO, INITIATE, MESSAGE) replayed on a new one: the cookie is refused, the message arrives once", async () => {
      const target = await serverUnderAttack();
      const original = await target.raw();
      await original.handshake();
      original.sendMessage("only once");
      await target.traffic.collect(1);
      expect(target.traffic.others).toEqual([["raw", "only once"]]);
      target.traffic.others.length = 0;
      original.wire.destroy();
      // The replayer has the bytes and none of the keys.
      const failure = failureOn(target.router);
      const replay = await target.raw();
      replay.wire.write(...original.wire.written.slice(1));
      await expectRefused(target, failure, replay.wire, "decrypt-failed");
      // The replayed HELLO got a WELCOME (nothing in HELLO can tell a replay), but a fresh one: another
      // server transient key and cookie, boxed to the original client's transient key, useless without c'.
      const welcomeOf = (wire: RawPeer) => wire.seen.find((frame) => zmtp.commandOf(frame).name === "WELCOME")!.body;
      expect(welcomeOf(replay.wire).equals(welcomeOf(original.wire))).toBe(false);
      expect(replay.wire.commandsSeen).not.toContain("READY");
      expect(decisions).toHaveLength(1);
    });
  });

  describe("a bad box", () => {
    it("HELLO's signature box with one bit flipped: decrypt-failed", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello(flipBit(raw.helloData(), -1));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
      expect(raw.wire.commandsSeen).not.toContain("WELCOME");
    });

    it("HELLO's box opens but does not hold 64 zeros: decrypt-failed", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello(raw.helloData({ signature: Buffer.alloc(64, 0x01) }));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });

    it.each([
      ["one bit of the vouch flipped", (raw: RawCurveClient) => flipBit(raw.vouch(), -1)],
      ["a vouch naming another server key", (raw: RawCurveClient) => raw.vouch({ serverKey: generateKeyPair().publicKey })],
      ["a vouch for another transient key", (raw: RawCurveClient) => raw.vouch({ transient: generateKeyPair().publicKey })],
      ["a vouch made for another server transient key", (raw: RawCurveClient) => raw.vouch({ serverTransient: generateKeyPair().publicKey })],
    ])("INITIATE with %s: decrypt-failed before ZAP is asked", async (_, vouch) => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData({ vouch: vouch(raw) }));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
      expect(decisions).toEqual([]);
      expect(raw.wire.commandsSeen).not.toContain("READY");
    });

    it("INITIATE's box with one bit flipped: decrypt-failed", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(flipBit(raw.initiateData(), -1));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
      expect(decisions).toEqual([]);
    });

    it("INITIATE's short nonce altered (the box was sealed under another): decrypt-failed", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(flipBit(raw.initiateData(), CURVE_SIZES.cookie + 7));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });

    it("a MESSAGE box with one bit flipped after the handshake: protocol:error decrypt-failed, nothing delivered", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      const failure = failureOn(target.router, "protocol:error");
      raw.wire.write(zmtp.frame(0, flipBit(raw.messageBody("forged"), -1)));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });

    it("the server's own MESSAGE reflected back to it, with a nonce above the client's: decrypt-failed, nothing delivered", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      for (const n of [1, 2, 3]) await target.router.send(["raw", `to raw ${n}`]);
      let last = await raw.wire.nextFrame();
      for (let i = 0; i < 2; i++) last = await raw.wire.nextFrame();
      // Server nonces: READY 1, then 2, 3, 4; the client's last was INITIATE's 2. Only the direction
      // in the nonce prefix ("...MESSAGES" vs "...MESSAGEC") keeps this box from opening.
      expect(last.body.readBigUInt64BE(8)).toBe(4n);
      const failure = failureOn(target.router, "protocol:error");
      raw.wire.write(zmtp.frame(0, last.body));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });

    it("a MESSAGE whose short nonce was altered: decrypt-failed, nothing delivered", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      const failure = failureOn(target.router, "protocol:error");
      // Nonce 3 on the wire, box sealed under nonce 3 with the low bit flipped (2): must not open.
      raw.wire.write(zmtp.frame(0, flipBit(raw.messageBody("moved"), 8 + 7)));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });
  });

  describe("a short or forged cookie", () => {
    it.each([
      ["cut inside the cookie", 50],
      ["one byte short of cookie, nonce, C and vouch", CURVE_SIZES.cookie + 8 + 16 + 32 + CURVE_SIZES.vouch - 1],
    ])("INITIATE %s: malformed-command", async (_, length) => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData().subarray(0, length));
      await expectRefused(target, failure, raw.wire, "malformed-command");
      expect(decisions).toEqual([]);
    });

    it("a cookie with one bit flipped: decrypt-failed", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData({ cookie: flipBit(raw.cookie!, 40) }));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });

    it("another connection's cookie: decrypt-failed, and that connection still completes with its own", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const donor = await target.raw();
      donor.sendHello();
      await donor.readWelcome();
      const thief = await target.raw();
      thief.sendHello();
      await thief.readWelcome();
      thief.sendInitiate(thief.initiateData({ cookie: donor.cookie }));
      await expectRefused(target, failure, thief.wire, "decrypt-failed");
      donor.sendInitiate();
      expect((await donor.readReady()).get("socket-type")?.toString()).toBe("ROUTER");
    });

    it("a cookie another server socket with the same long-term key issued: decrypt-failed", async () => {
      const target = await serverUnderAttack();
      const twin = new Router({ curveServer: true, curveSecretKey: z85(serverKeys.secretKey), linger: 0, logger });
      cleanups.push(() => twin.close());
      await twin.bind("tcp://127.0.0.1:*");
      const donor = await RawCurveClient.connect(twin.lastEndpoint!, { serverKey: serverKeys.publicKey, keys: rawKeys });
      cleanups.push(() => donor.wire.destroy());
      donor.sendHello();
      await donor.readWelcome();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData({ cookie: donor.cookie }));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
    });
  });

  describe("a MESSAGE nonce that does not increase", () => {
    it("the previous MESSAGE replayed verbatim: nonce-replayed, delivered once", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      const failure = failureOn(target.router, "protocol:error");
      const message = raw.messageFrame("pay 100");
      raw.wire.write(message, message);
      await expectRefused(target, failure, raw.wire, "nonce-replayed");
      await target.traffic.advance(3);
      expect(target.traffic.others).toEqual([["raw", "pay 100"]]);
      target.traffic.others.length = 0;
    });

    it("a lower nonce than the last MESSAGE's, validly boxed: nonce-replayed, only the first delivered", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      const failure = failureOn(target.router, "protocol:error");
      raw.wire.write(raw.messageFrame("nonce 10", { nonce: 10n }), raw.messageFrame("nonce 9", { nonce: 9n }));
      await expectRefused(target, failure, raw.wire, "nonce-replayed");
      await target.traffic.advance(3);
      expect(target.traffic.others).toEqual([["raw", "nonce 10"]]);
      target.traffic.others.length = 0;
    });

    it("a first MESSAGE reusing INITIATE's nonce: nonce-replayed, nothing delivered", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      const failure = failureOn(target.router, "protocol:error");
      // HELLO used 1 and INITIATE 2.
      raw.wire.write(raw.messageFrame("reused", { nonce: 2n }));
      await expectRefused(target, failure, raw.wire, "nonce-replayed");
    });
  });

  describe("INITIATE metadata", () => {
    /** INITIATE data whose metadata makes the whole command frame body `size` bytes. */
    function initiateOfFrameSize(raw: RawCurveClient, size: number): Buffer {
      const fixed = zmtp.metadata({ "Socket-Type": "DEALER", Identity: "raw", "X-Big": "" }).length;
      const overhead = 1 + "INITIATE".length + CURVE_SIZES.cookie + 8 + 16 + 32 + CURVE_SIZES.vouch + fixed;
      return raw.initiateData({ metadata: zmtp.metadata({ "Socket-Type": "DEALER", Identity: "raw", "X-Big": Buffer.alloc(size - overhead, 0x61) }) });
    }

    it("the largest INITIATE the engine takes (a 64 KiB command) completes; one byte more is message-too-large before its body arrives", async () => {
      const target = await serverUnderAttack();
      const fits = await target.raw();
      fits.sendHello();
      await fits.readWelcome();
      fits.sendInitiate(initiateOfFrameSize(fits, 64 * 1024));
      expect((await fits.readReady()).get("socket-type")?.toString()).toBe("ROUTER");

      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      const frame = zmtp.command("INITIATE", initiateOfFrameSize(raw, 64 * 1024 + 1));
      expect(frame.length).toBe(9 + 64 * 1024 + 1);
      // Only the header and the start: the refusal must not wait for (or buffer) the rest.
      raw.wire.write(frame.subarray(0, 100));
      await expectRefused(target, failure, raw.wire, "message-too-large");
      expect(decisions).toHaveLength(1);
    });

    it("an INITIATE announcing 4 GiB is refused at its header", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      const header = Buffer.alloc(9);
      header[0] = 0x06;
      header.writeBigUInt64BE(4n * 1024n ** 3n, 1);
      raw.wire.write(header, Buffer.from("\x08INITIATE", "latin1"));
      await expectRefused(target, failure, raw.wire, "message-too-large");
    });

    it.each([
      ["right after the greeting", false],
      ["after HELLO and WELCOME", true],
    ])("a message frame announcing 512 MiB %s is refused at its header, not buffered (unexpected-command)", async (_, hello) => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      if (hello) {
        raw.sendHello();
        await raw.readWelcome();
      }
      const header = Buffer.alloc(9);
      header[0] = 0x02;
      header.writeBigUInt64BE(512n * 1024n * 1024n, 1);
      raw.wire.write(header, Buffer.alloc(1024));
      const error = await expectRefused(target, failure, raw.wire, "unexpected-command");
      // Refused for what the header says, with the size it announced: nothing of the body was awaited.
      expect(error.message).toContain(String(512 * 1024 * 1024));
    });

    it.each([
      ["a property name running past the end", Buffer.from("\x0bSoc", "latin1")],
      ["a value longer than what follows", Buffer.concat([Buffer.from("\x0bSocket-Type", "latin1"), Buffer.from([0, 0, 1, 0]), Buffer.from("DEALER")])],
      ["an empty property name", Buffer.concat([Buffer.from([0]), Buffer.from([0, 0, 0, 0])])],
    ])("malformed metadata inside the box (%s): malformed-command, ZAP never asked", async (_, metadata) => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData({ metadata }));
      await expectRefused(target, failure, raw.wire, "malformed-command");
      expect(decisions).toEqual([]);
    });

    it.each([
      ["no Socket-Type", "missing-socket-type", { Identity: "raw" }],
      ["an incompatible Socket-Type", "incompatible-socket-type", { "Socket-Type": "PUB" }],
    ] as const)("metadata with %s: %s", async (_, reason, metadata) => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw({ metadata });
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate();
      await expectRefused(target, failure, raw.wire, reason);
    });

    it.each([
      ["the application sees ZAP's", false, "raw-user"],
      ["with no ZAP handler bound, the application sees none", true, undefined],
    ])("a User-Id claimed in INITIATE is ignored: %s", async (_, withoutZap, expected) => {
      const target = await serverUnderAttack({ withoutZap });
      const handshake = firstValueFrom(target.router.events$.pipe(filter((e) => e.type === "handshake" && e.peer.routingId.toString() === "raw")));
      const raw = await target.raw({ metadata: { "Socket-Type": "DEALER", Identity: "raw", "User-Id": "admin" } });
      await raw.handshake();
      const event = await handshake;
      expect(event.type === "handshake" && event.peer.metadata.get("User-Id")?.toString()).toBe(expected);
    });
  });

  describe("low-order keys and commands out of order", () => {
    /** A Curve25519 point of small order: X25519 with it gives all zeros, which must never become a key. */
    const LOW_ORDER = Buffer.alloc(32);

    it("HELLO with a low-order transient key: decrypt-failed, no WELCOME", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello(raw.helloData({ transientPublic: LOW_ORDER }));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
      expect(raw.wire.commandsSeen).not.toContain("WELCOME");
    });

    it("INITIATE presenting a low-order long-term key: decrypt-failed, ZAP never asked", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData({ clientKey: LOW_ORDER }));
      await expectRefused(target, failure, raw.wire, "decrypt-failed");
      expect(decisions).toEqual([]);
    });

    it("INITIATE whose short nonce does not exceed HELLO's: nonce-replayed, ZAP never asked", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello(raw.helloData({ nonce: 7n }));
      await raw.readWelcome();
      raw.sendInitiate(raw.initiateData({ nonce: 7n }));
      await expectRefused(target, failure, raw.wire, "nonce-replayed");
      expect(decisions).toEqual([]);
    });

    it("INITIATE twice in one write (the second while ZAP is asked): unexpected-command, no READY", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      const initiate = zmtp.command("INITIATE", raw.initiateData());
      raw.wire.write(initiate, initiate);
      await expectRefused(target, failure, raw.wire, "unexpected-command");
      expect(raw.wire.commandsSeen).not.toContain("READY");
    });

    it("INITIATE again after READY (outside a MESSAGE box): protocol:error malformed-command", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      const first = zmtp.command("INITIATE", raw.initiateData());
      raw.wire.write(first);
      await raw.readReady();
      const failure = failureOn(target.router, "protocol:error");
      raw.wire.write(first);
      await expectRefused(target, failure, raw.wire, "malformed-command");
    });

    it("a MESSAGE pipelined behind INITIATE, before READY: refused (unexpected-command), never delivered", async () => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      raw.sendHello();
      await raw.readWelcome();
      raw.wire.write(zmtp.command("INITIATE", raw.initiateData()), raw.messageFrame("too early"));
      await expectRefused(target, failure, raw.wire, "unexpected-command");
    });

    it("a plaintext ZMTP message frame after READY: protocol:error, never delivered", async () => {
      const target = await serverUnderAttack();
      const raw = await target.raw();
      await raw.handshake();
      const failure = failureOn(target.router, "protocol:error");
      raw.wire.write(zmtp.frame(0, Buffer.from("in clear")));
      await expectRefused(target, failure, raw.wire, "malformed-command");
    });
  });

  describe("HELLO of the wrong size or version", () => {
    it.each([
      ["one byte short", "malformed-command", (data: Buffer) => data.subarray(0, data.length - 1)],
      ["one byte long", "malformed-command", (data: Buffer) => Buffer.concat([data, Buffer.alloc(1)])],
      ["empty", "malformed-command", () => Buffer.alloc(0)],
      ["version 2.0", "unsupported-version", (data: Buffer) => Buffer.concat([Buffer.from([2, 0]), data.subarray(2)])],
      ["version 1.1", "unsupported-version", (data: Buffer) => Buffer.concat([Buffer.from([1, 1]), data.subarray(2)])],
    ] as const)("HELLO %s: %s, no WELCOME", async (_, reason, change) => {
      const target = await serverUnderAttack();
      const failure = failureOn(target.router);
      const raw = await target.raw();
      const data = raw.helloData();
      expect(data.length).toBe(CURVE_SIZES.hello);
      raw.sendHello(change(data));
      await expectRefused(target, failure, raw.wire, reason);
      expect(raw.wire.commandsSeen).not.toContain("WELCOME");
    });
  });
});

describe("a raw client that stalls mid-handshake: the handshakeInterval applies", () => {
  const interval = 1000;

  it.each([
    ["after the greeting", async (_raw: RawCurveClient) => undefined],
    ["in the middle of HELLO", async (raw: RawCurveClient) => raw.wire.write(zmtp.command("HELLO", raw.helloData()).subarray(0, 100))],
    [
      "after HELLO, once WELCOME has arrived",
      async (raw: RawCurveClient) => {
        raw.sendHello();
        await raw.readWelcome();
      },
    ],
    [
      "in the middle of INITIATE",
      async (raw: RawCurveClient) => {
        raw.sendHello();
        await raw.readWelcome();
        raw.wire.write(zmtp.command("INITIATE", raw.initiateData()).subarray(0, 150));
      },
    ],
  ])("%s: handshake-timeout, not before the interval", async (_, stall) => {
    const target = await serverUnderAttack({ handshakeInterval: interval });
    const failure = failureOn(target.router);
    const started = Date.now();
    const raw = await target.raw();
    await stall(raw);
    await expectRefused(target, failure, raw.wire, "handshake-timeout");
    // Timers may fire a millisecond or so early; the connection cannot have been cut well before its time.
    expect(Date.now() - started).toBeGreaterThanOrEqual(interval - 20);
  });

  it("trickling HELLO a byte at a time does not extend the timeout", async () => {
    const target = await serverUnderAttack({ handshakeInterval: interval });
    const failure = failureOn(target.router);
    const raw = await target.raw();
    const hello = zmtp.command("HELLO", raw.helloData());
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < hello.length) raw.wire.write(hello.subarray(sent, ++sent));
    }, 10);
    cleanups.push(() => clearInterval(trickle));
    await expectRefused(target, failure, raw.wire, "handshake-timeout");
    // Still in the middle of HELLO when the timer cut it off: 200 bytes at one per 10 ms take 2 s.
    expect(sent).toBeLessThan(hello.length);
  });
});

// ---------------------------------------------------------------- client under attack

interface ClientUnderAttack {
  readonly dealer: Dealer;
  readonly traffic: Traffic;
  /** Connects the dealer to a raw server holding `keys` (default: the real server's) and accepts the connection. */
  rawServer(keys?: CurveKeyPairBytes): Promise<RawCurveServerConnection>;
}

/**
 * A Privateer CURVE DEALER connected to a good Privateer ROUTER, receiving a
 * steady stream from it, which then also connects to a raw server. What the
 * raw server gets delivered shows up in the traffic's `others`.
 */
async function clientUnderAttack(options: { handshakeInterval?: number } = {}): Promise<ClientUnderAttack> {
  const router = new Router({ curveServer: true, curveSecretKey: z85(serverKeys.secretKey), linger: 0, logger });
  const dealer = new Dealer({
    curveServerKey: z85(serverKeys.publicKey),
    curveSecretKey: z85(goodKeys.secretKey),
    routingId: "good",
    reconnectInterval: -1,
    handshakeInterval: options.handshakeInterval ?? 5000,
    linger: 0,
    logger,
  });
  cleanups.push(() => {
    router.close();
    dealer.close();
  });
  watchErrors(router);
  watchErrors(dealer);
  await router.bind("tcp://127.0.0.1:*");
  const handshake = nextEvent(router, "handshake");
  dealer.connect(router.lastEndpoint!);
  await handshake;
  // One way only (router to dealer): a DEALER would spread its own sends over the raw server too.
  const traffic = new Traffic(async (n, others) => {
    await router.send(["good", `tick ${n}`]);
    for (;;) {
      const message = text(await dealer.receive());
      if (message.length === 1 && message[0] === `tick ${n}`) break;
      others.push(message);
    }
  });
  cleanups.push(async () => {
    await traffic.stop();
    dealer.receiveTimeout = 150;
    const late = await dealer.receive().then(text, (error: { code?: string }) => error.code);
    expect(late).toBe("EAGAIN");
    expect(traffic.others).toEqual([]);
  });
  await traffic.advance(2);
  const rawServer = async (keys: CurveKeyPairBytes = serverKeys) => {
    const server = await RawCurveServer.listen(keys);
    cleanups.push(() => server.close());
    dealer.connect(server.endpoint);
    const connection = await server.accept();
    secrets.push(connection.transient.secretKey);
    cleanups.push(() => {
      if (connection.sessionKey) secrets.push(connection.sessionKey);
      connection.wire.destroy();
      expectNoSecretInErrors(connection.wire);
    });
    return connection;
  };
  return { dealer, traffic, rawServer };
}

describe("raw CURVE server against a Privateer CURVE client", () => {
  it("control: the raw server completes the handshake and messages cross both ways", async () => {
    const target = await clientUnderAttack();
    const handshake = nextEvent(target.dealer, "handshake");
    const raw = await target.rawServer();
    await raw.handshake();
    expect(raw.clientKey?.equals(goodKeys.publicKey)).toBe(true);
    expect(raw.clientMetadata?.get("socket-type")?.toString()).toBe("DEALER");
    expect((await handshake).peer.socketType).toBe("ROUTER");
    raw.sendMessage("from raw server");
    await target.traffic.collect(1);
    expect(target.traffic.others).toEqual([["from raw server"]]);
    target.traffic.others.length = 0;
  });

  it("WELCOME with one bit flipped: decrypt-failed, no INITIATE (the client's key stays unsent)", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome(flipBit(raw.welcomeData(), -1));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
    expect(raw.wire.commandsSeen).not.toContain("INITIATE");
  });

  it("WELCOME from an impostor without the server's secret key: decrypt-failed, no INITIATE", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome(raw.welcomeData({ signer: generateKeyPair().secretKey }));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
    expect(raw.wire.commandsSeen).not.toContain("INITIATE");
  });

  it("WELCOME carrying a low-order transient key: decrypt-failed, no INITIATE", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome(raw.welcomeData({ transientPublic: Buffer.alloc(32) }));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
    expect(raw.wire.commandsSeen).not.toContain("INITIATE");
  });

  it("WELCOME one byte short: malformed-command", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    const welcome = raw.welcomeData();
    expect(welcome.length).toBe(CURVE_SIZES.welcome);
    raw.sendWelcome(welcome.subarray(1));
    await expectRefused(target, failure, raw.wire, "malformed-command");
  });

  it("WELCOME twice: unexpected-command", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    const welcome = raw.welcomeData();
    raw.sendWelcome(welcome);
    raw.sendWelcome(welcome);
    await expectRefused(target, failure, raw.wire, "unexpected-command");
  });

  it("READY with one bit flipped, a MESSAGE right behind it: decrypt-failed, nothing delivered", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome();
    await raw.readInitiate();
    raw.wire.write(zmtp.command("READY", flipBit(raw.readyData(), -1)), raw.messageFrame("smuggled"));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
  });

  it("READY with malformed metadata in its box: malformed-command", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome();
    await raw.readInitiate();
    raw.sendReady(raw.readyData({ metadata: Buffer.from("\x0bSoc", "latin1") }));
    await expectRefused(target, failure, raw.wire, "malformed-command");
  });

  it("READY announcing more than a command may hold (64 KiB): message-too-large at its header", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome();
    await raw.readInitiate();
    const ready = zmtp.command("READY", raw.readyData({ metadata: zmtp.metadata({ "Socket-Type": "ROUTER", "X-Big": Buffer.alloc(64 * 1024) }) }));
    raw.wire.write(ready.subarray(0, 200));
    await expectRefused(target, failure, raw.wire, "message-too-large");
  });

  it("ERROR 400 instead of READY (the server's ZAP handler refused us): AuthenticationError with status 400", async () => {
    const target = await clientUnderAttack();
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await raw.readHello();
    raw.sendWelcome();
    await raw.readInitiate();
    raw.wire.write(zmtp.command("ERROR", Buffer.from("\x03400", "latin1")));
    await expectRefused(target, failure, raw.wire, "authentication-failed", 400);
  });

  it("a server MESSAGE with one bit flipped: protocol:error decrypt-failed, nothing delivered", async () => {
    const target = await clientUnderAttack();
    const raw = await target.rawServer();
    const failure = failureOn(target.dealer, "protocol:error");
    await raw.handshake();
    raw.wire.write(zmtp.frame(0, flipBit(raw.messageBody("forged"), -1)));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
  });

  it("the client's own MESSAGE reflected back to it: decrypt-failed, nothing delivered", async () => {
    const target = await clientUnderAttack();
    const raw = await target.rawServer();
    const failure = failureOn(target.dealer, "protocol:error");
    await raw.handshake();
    // The dealer spreads its sends over both servers: enough of them that some reach the raw one.
    for (let n = 0; n < 6; n++) await target.dealer.send(`to servers ${n}`);
    const first = await raw.wire.nextFrame();
    // Client nonces: HELLO 1, INITIATE 2, then MESSAGEs; above READY's 1, so only the direction
    // in the nonce prefix stops it.
    expect(first.body.readBigUInt64BE(8)).toBeGreaterThan(2n);
    raw.wire.write(zmtp.frame(0, first.body));
    await expectRefused(target, failure, raw.wire, "decrypt-failed");
  });

  it("a server MESSAGE replayed verbatim: nonce-replayed, delivered once", async () => {
    const target = await clientUnderAttack();
    const raw = await target.rawServer();
    const failure = failureOn(target.dealer, "protocol:error");
    await raw.handshake();
    const message = raw.messageFrame("credit 100");
    raw.wire.write(message, message);
    await expectRefused(target, failure, raw.wire, "nonce-replayed");
    await target.traffic.advance(3);
    expect(target.traffic.others).toEqual([["credit 100"]]);
    target.traffic.others.length = 0;
  });

  it("a first server MESSAGE reusing READY's nonce: nonce-replayed, nothing delivered", async () => {
    const target = await clientUnderAttack();
    const raw = await target.rawServer();
    const failure = failureOn(target.dealer, "protocol:error");
    await raw.handshake();
    raw.wire.write(raw.messageFrame("reused", { nonce: 1n }));
    await expectRefused(target, failure, raw.wire, "nonce-replayed");
  });

  it.each([
    ["that never answers HELLO", async (_raw: RawCurveServerConnection) => undefined],
    [
      "that never answers INITIATE",
      async (raw: RawCurveServerConnection) => {
        await raw.readHello();
        raw.sendWelcome();
        await raw.readInitiate();
      },
    ],
  ])("a server %s: the client's handshake-timeout", async (_, stall) => {
    const target = await clientUnderAttack({ handshakeInterval: 1000 });
    const failure = failureOn(target.dealer);
    const raw = await target.rawServer();
    await stall(raw);
    await expectRefused(target, failure, raw.wire, "handshake-timeout");
  });
});

// ---------------------------------------------------------------- nonces on the wire

/**
 * Two Privateer CURVE sockets talking through a TCP proxy that records the
 * short nonces of each direction: `count` requests one way, as many replies
 * the other. Also returns every byte that crossed, to look for plaintext.
 */
async function watchNonces(count: number): Promise<{ toServer: NonceObserver; toClient: NonceObserver; bytes: Buffer }> {
  const router = new Router({ curveServer: true, curveSecretKey: z85(serverKeys.secretKey), linger: 0, logger });
  const dealer = new Dealer({ curveServerKey: z85(serverKeys.publicKey), curveSecretKey: z85(goodKeys.secretKey), routingId: "d", linger: 0, logger });
  const toServer = new NonceObserver();
  const toClient = new NonceObserver();
  const seen: Buffer[] = [];
  const proxy = net.createServer((inbound) => {
    const outbound = net.connect({ host: "127.0.0.1", port: Number(router.lastEndpoint!.split(":").pop()) });
    inbound.on("data", (chunk: Buffer) => {
      toServer.push(chunk);
      seen.push(chunk);
      outbound.write(chunk);
    });
    outbound.on("data", (chunk: Buffer) => {
      toClient.push(chunk);
      seen.push(chunk);
      inbound.write(chunk);
    });
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]] as const) {
      a.on("error", () => undefined);
      a.on("close", () => b.destroy());
    }
  });
  cleanups.push(() => {
    dealer.close();
    router.close();
    proxy.close();
  });
  await router.bind("tcp://127.0.0.1:*");
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  dealer.connect(`tcp://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`);
  const requests = (async () => {
    for (let i = 0; i < count; i++) await dealer.send(`plaintext-marker request ${i}`);
  })();
  for (let i = 0; i < count; i++) {
    const [id, body] = await router.receive();
    expect(body!.toString()).toBe(`plaintext-marker request ${i}`);
    await router.send([id!, `plaintext-marker reply ${i}`]);
  }
  await requests;
  for (let i = 0; i < count; i++) expect((await dealer.receive())[0]!.toString()).toBe(`plaintext-marker reply ${i}`);
  return { toServer, toClient, bytes: Buffer.concat(seen) };
}

describe("short nonces on the wire", () => {
  it("strictly increase in each direction across 1,000 messages each way, and no plaintext crosses", async () => {
    const { toServer, toClient, bytes } = await watchNonces(1000);
    const clientCommands = toServer.nonces.map((n) => n.command);
    expect(clientCommands.slice(0, 2)).toEqual(["HELLO", "INITIATE"]);
    expect(clientCommands.filter((c) => c === "MESSAGE").length).toBeGreaterThanOrEqual(1000);
    expect(toClient.nonces[0]!.command).toBe("READY");
    expect(toClient.nonces.filter((n) => n.command === "MESSAGE").length).toBeGreaterThanOrEqual(1000);
    expect(nonIncreasing(toServer.nonces.map((n) => n.nonce))).toEqual([]);
    expect(nonIncreasing(toClient.nonces.map((n) => n.nonce))).toEqual([]);
    expect(bytes.includes(Buffer.from("plaintext-marker"))).toBe(false);
  });

  it("negative control: the checker flags a repeated and a lower nonce inserted into a captured sequence", async () => {
    const { toServer } = await watchNonces(50);
    const captured = toServer.nonces.map((n) => n.nonce);
    expect(nonIncreasing(captured)).toEqual([]);
    const repeated = [...captured.slice(0, 20), captured[19]!, ...captured.slice(20)];
    expect(nonIncreasing(repeated)).toEqual([20]);
    const lower = [...captured.slice(0, 30), captured[10]!, ...captured.slice(30)];
    expect(nonIncreasing(lower)).toEqual([30]);
    // A replay of the very first command (HELLO) at the end is caught too.
    expect(nonIncreasing([...captured, captured[0]!])).toEqual([captured.length]);
  });
});
