/**
 * What CURVE puts on the wire, seen through a TCP relay between two
 * Privateer sockets: no payload, property or frame boundary in clear (with
 * the same check run on a NULL connection as the control that finds them),
 * and the relay playing attacker: a MESSAGE replayed or altered in flight
 * closes the connection with a typed reason and never reaches the application.
 */
import * as net from "node:net";
import { curveKeyPair, Pull, Push, type ProtocolError } from "../../src";
import { nextEvent } from "../helpers/endpoints";

const server = curveKeyPair();
const client = curveKeyPair();
const CANARY = "canary-plaintext-7f3a9c";
const PROPERTY = "x-property-value-51b2";

type Tamper = (body: Buffer, emit: (body: Buffer) => void) => void;

/**
 * A TCP relay that keeps every byte it forwards. From client to server it
 * parses ZMTP frames after the 64-byte greeting and lets `tamper` rewrite,
 * repeat or drop each data frame (CURVE's MESSAGE travels in data frames).
 */
class Relay {
  readonly toServer: Buffer[] = [];
  readonly toClient: Buffer[] = [];
  private readonly listener: net.Server;
  private readonly sockets: net.Socket[] = [];

  private constructor(listener: net.Server) {
    this.listener = listener;
  }

  static async start(target: string, tamper?: Tamper): Promise<Relay> {
    const port = Number(new URL(target.replace("tcp://", "http://")).port);
    const listener = net.createServer();
    const relay = new Relay(listener);
    listener.on("connection", (inbound) => {
      const outbound = net.connect(port, "127.0.0.1");
      relay.sockets.push(inbound, outbound);
      const parser = new FrameRelay((bytes) => outbound.write(bytes), tamper);
      inbound.on("data", (chunk: Buffer) => {
        relay.toServer.push(Buffer.from(chunk));
        parser.push(chunk);
      });
      outbound.on("data", (chunk: Buffer) => {
        relay.toClient.push(Buffer.from(chunk));
        inbound.write(chunk);
      });
      const closeBoth = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on("close", closeBoth).on("error", closeBoth);
      outbound.on("close", closeBoth).on("error", closeBoth);
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    return relay;
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${(this.listener.address() as net.AddressInfo).port}`;
  }

  /** Everything seen in both directions. */
  get seen(): Buffer {
    return Buffer.concat([...this.toServer, ...this.toClient]);
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.listener.close();
  }
}

/** Streams bytes through, frame by frame after the greeting, so data frames can be tampered with. */
class FrameRelay {
  private pending = Buffer.alloc(0);
  private greetingLeft = 64;

  constructor(
    private readonly write: (bytes: Buffer) => void,
    private readonly tamper?: Tamper,
  ) {}

  push(chunk: Buffer): void {
    if (!this.tamper) return void this.write(chunk);
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.greetingLeft > 0) {
      const take = Math.min(this.greetingLeft, this.pending.length);
      this.write(this.pending.subarray(0, take));
      this.pending = this.pending.subarray(take);
      this.greetingLeft -= take;
    }
    for (;;) {
      if (this.pending.length < 2) return;
      const flags = this.pending[0]!;
      const long = (flags & 0x02) !== 0;
      const headerSize = long ? 9 : 2;
      if (this.pending.length < headerSize) return;
      const size = long ? Number(this.pending.readBigUInt64BE(1)) : this.pending[1]!;
      if (this.pending.length < headerSize + size) return;
      const body = this.pending.subarray(headerSize, headerSize + size);
      this.pending = this.pending.subarray(headerSize + size);
      if (flags & 0x04) this.write(frame(flags, body));
      else this.tamper(Buffer.from(body), (out) => this.write(frame(flags & ~0x02, out)));
    }
  }
}

function frame(flags: number, body: Buffer): Buffer {
  if (body.length > 255) {
    const header = Buffer.alloc(9);
    header[0] = flags | 0x02;
    header.writeBigUInt64BE(BigInt(body.length), 1);
    return Buffer.concat([header, body]);
  }
  return Buffer.concat([Buffer.from([flags, body.length]), body]);
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

const CURVE_SERVER = { curveServer: true, curveSecretKey: server.secretKey };
const CURVE_CLIENT = { curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey };

/** A PULL server behind a relay and a PUSH client through it; returns both and the relay. */
async function relayed(security: "CURVE" | "NULL", tamper?: Tamper) {
  const pull = new Pull({ ...(security === "CURVE" ? CURVE_SERVER : {}), linger: 0 });
  cleanup.push(() => pull.close());
  await pull.bind("tcp://127.0.0.1:*");
  const relay = await Relay.start(pull.lastEndpoint!, tamper);
  cleanup.push(() => relay.close());
  const push = new Push({ ...(security === "CURVE" ? CURVE_CLIENT : {}), metadata: { "X-Tag": PROPERTY }, linger: 0, reconnectInterval: -1 });
  cleanup.push(() => push.close());
  const handshake = nextEvent(pull, "handshake");
  push.connect(relay.endpoint);
  await handshake;
  return { pull, push, relay };
}

/** Sends the canary in a three-part message and waits for it, then reports what the relay saw in clear. */
async function canarySeen(security: "CURVE" | "NULL"): Promise<{ canary: boolean; property: boolean; socketType: boolean }> {
  const { pull, push, relay } = await relayed(security);
  await push.send([CANARY, "second part", CANARY]);
  expect((await pull.receive()).map(String)).toEqual([CANARY, "second part", CANARY]);
  const seen = relay.seen.toString("latin1");
  return { canary: seen.includes(CANARY), property: seen.includes(PROPERTY), socketType: seen.includes("Socket-Type") };
}

it("CURVE: no payload, application property or Socket-Type crosses the wire in clear", async () => {
  expect(await canarySeen("CURVE")).toEqual({ canary: false, property: false, socketType: false });
});

it("control: the same check on a NULL connection finds all three in clear", async () => {
  expect(await canarySeen("NULL")).toEqual({ canary: true, property: true, socketType: true });
});

it("a MESSAGE replayed in flight closes the connection with nonce-replayed; the application gets it once", async () => {
  let replayed = false;
  const { pull, push } = await relayed("CURVE", (body, emit) => {
    emit(body);
    if (!replayed && body.subarray(0, 8).toString("latin1") === "\x07MESSAGE") {
      replayed = true;
      emit(body);
    }
  });
  const failure = nextEvent(pull, "protocol:error");
  await push.send("once");
  expect((await failure).error.reason).toBe<ProtocolError["reason"]>("nonce-replayed");
  expect((await pull.receive()).map(String)).toEqual(["once"]);
  pull.receiveTimeout = 300;
  await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" });
});

it("a MESSAGE altered in flight closes the connection with decrypt-failed; nothing reaches the application", async () => {
  const { pull, push } = await relayed("CURVE", (body, emit) => {
    const altered = Buffer.from(body);
    altered[altered.length - 1] ^= 0x01;
    emit(altered);
  });
  const failure = nextEvent(pull, "protocol:error");
  await push.send("tampered");
  expect((await failure).error.reason).toBe<ProtocolError["reason"]>("decrypt-failed");
  pull.receiveTimeout = 300;
  await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" });
});
