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
import { firstValueFrom, filter, type Subscription } from "rxjs";
import { AuthenticationError, Dealer, encodeZ85, ProtocolError, Router, zapAuthenticator, type ProtocolErrorReason, type SocketBase, type ZapAuthenticator } from "../../src";
import { generateKeyPair, type CurveKeyPairBytes } from "../../src/security/curve/crypto";
import { nextEvent } from "../helpers/endpoints";
import {
  CURVE_SIZES,
  flipBit,
  nonIncreasing,
  rawCommandFrame,
  rawFrame,
  rawMetadata,
  RawCurveClient,
  RawCurveServer,
  type RawCurveServerConnection,
  type Wire,
} from "../helpers/raw-curve-peer";

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

function rememberSecretsOf(peer: { transient: CurveKeyPairBytes; sessionKey?: Buffer }): void {
  secrets.push(peer.transient.secretKey);
  if (peer.sessionKey) secrets.push(peer.sessionKey);
}

// ---------------------------------------------------------------- logs, ZAP, cleanup

let logLines: string[] = [];
let logger: import("pino").Logger;
let auth: ZapAuthenticator | undefined;
const cleanups: Array<() => void | Promise<void>> = [];
/** Every error any Privateer socket reported in the current test. */
const reported: Error[] = [];

beforeAll(async () => {
  const { default: pino } = await import("pino");
  logger = pino({ level: "trace" }, { write: (line: string) => void logLines.push(line) });
});

beforeEach(async () => {
  logLines = [];
  reported.length = 0;
  // Allow-list of the good client and the raw client; one key deferred (300), everything else denied (400).
  const allowed = new Set([z85(goodKeys.publicKey), z85(rawKeys.publicKey)]);
  auth = await zapAuthenticator((request) => {
    const key = request.curvePublicKey ?? "";
    if (allowed.has(key)) return { allow: true, userId: key === z85(goodKeys.publicKey) ? "good-user" : "raw-user" };
    return key === z85(laterKeys.publicKey) ? { allow: false, status: 300 } : { allow: false };
  });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  auth?.close();
  auth = undefined;
  // Each test logged its handshakes and failures (so this looked at something), without a secret.
  const text = logLines.join("");
  expect(text.length).toBeGreaterThan(0);
  expectNoSecret(text);
  for (const error of reported) expectNoSecret(`${error.message} ${String(error.stack)} ${JSON.stringify(error)} ${String((error as { cause?: unknown }).cause ?? "")}`);
});

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
async function serverUnderAttack(options: { handshakeInterval?: number } = {}): Promise<ServerUnderAttack> {
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
  expect((await handshake).peer.metadata.get("User-Id")?.toString()).toBe("good-user");
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
  target: ServerUnderAttack,
  failure: Promise<{ error: ProtocolError }>,
  wire: Wire,
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
