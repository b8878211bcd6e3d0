/**
 * PLAIN (RFC 24) with ZAP (RFC 27) between Privateer sockets: the handshake
 * over tcp and ipc, what inproc does (no mechanism, as in libzmq), refusals
 * reported as typed events with nothing delivered, and secrets kept out of
 * every error text.
 */
import * as net from "node:net";
import { firstValueFrom, filter, take, toArray, timeout } from "rxjs";
import { AuthenticationError, Pull, Push, Router, Dealer, zapAuthenticator, type ZapAuthenticator, type ZapAuthRequest } from "../../src";
import { bindAddress, nextEvent, type TransportName } from "../helpers/endpoints";

const PASSWORD = "s3cret-Pa55word";
const WRONG = "wr0ng-Pa55word";

let auth: ZapAuthenticator | undefined;
const seen: ZapAuthRequest[] = [];
const sockets: { close(): void }[] = [];
function track<T extends { close(): void }>(socket: T): T {
  sockets.push(socket);
  return socket;
}

async function startAuth(): Promise<ZapAuthenticator> {
  auth = await zapAuthenticator((request) => {
    seen.push(request);
    return request.username === "admin" && request.password === PASSWORD ? { allow: true, userId: "admin-id" } : { allow: false };
  });
  return auth;
}

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  auth?.close();
  auth = undefined;
  seen.length = 0;
});

describe.each<TransportName>(["tcp", "ipc"])("PLAIN over %s", (transport) => {
  it("authenticates through the ZAP handler and delivers messages with User-Id and the client's metadata", async () => {
    await startAuth();
    const server = track(new Router({ plainServer: true, zapDomain: "global", linger: 0 }));
    const client = track(new Dealer({ plainUsername: "admin", plainPassword: PASSWORD, routingId: "c1", metadata: { "X-App": "demo" }, linger: 0 }));
    await server.bind(bindAddress(transport));
    const handshake = nextEvent(server, "handshake");
    const clientHandshake = nextEvent(client, "handshake");
    client.connect(server.lastEndpoint!);
    const event = await handshake;
    expect(event.peer.metadata.get("User-Id")?.toString()).toBe("admin-id");
    expect(event.peer.metadata.get("X-App")?.toString()).toBe("demo");
    expect((await clientHandshake).peer.socketType).toBe("ROUTER");
    await client.send("hello");
    const [id, body] = await server.receive();
    expect(id!.toString()).toBe("c1");
    expect(body!.toString()).toBe("hello");
    expect(server.peerMetadata("c1")?.get("user-id")?.toString()).toBe("admin-id");
    // The request carried what RFC 27 lists.
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ domain: "global", mechanism: "PLAIN", username: "admin", password: PASSWORD });
    if (transport === "tcp") expect(seen[0]!.address).toBe("127.0.0.1");
  });

  it("denies a wrong password: typed events on both sides with status 400, nothing delivered, no password in any text", async () => {
    await startAuth();
    const server = track(new Pull({ plainServer: true, linger: 0 }));
    const client = track(new Push({ plainUsername: "admin", plainPassword: WRONG, linger: 0, reconnectInterval: -1 }));
    await server.bind(bindAddress(transport));
    const serverError = nextEvent(server, "handshake:error");
    const clientError = nextEvent(client, "handshake:error");
    client.connect(server.lastEndpoint!);
    await client.send("must not arrive").catch(() => undefined);
    const [onServer, onClient] = await Promise.all([serverError, clientError]);
    for (const { error } of [onServer, onClient]) {
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.reason).toBe("authentication-failed");
      expect((error as AuthenticationError).status).toBe(400);
      const text = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
      expect(text).not.toContain(WRONG);
      expect(text).not.toContain(PASSWORD);
    }
    server.receiveTimeout = 200;
    await expect(server.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("refuses every client when no ZAP handler is bound, as libzmq 4.3 does", async () => {
    const server = track(new Pull({ plainServer: true, linger: 0 }));
    const client = track(new Push({ plainUsername: "admin", plainPassword: PASSWORD, linger: 0 }));
    await server.bind(bindAddress(transport));
    const serverError = nextEvent(server, "handshake:error");
    client.connect(server.lastEndpoint!);
    const { error } = await serverError;
    expect(error.reason).toBe("no-zap-handler");
    expect(error.message).not.toContain(PASSWORD);
  });

  it("fails NULL against PLAIN with mechanism-mismatch on both sides", async () => {
    await startAuth();
    const server = track(new Pull({ plainServer: true, linger: 0 }));
    const client = track(new Push({ linger: 0 }));
    await server.bind(bindAddress(transport));
    const serverError = nextEvent(server, "handshake:error");
    const clientError = nextEvent(client, "handshake:error");
    client.connect(server.lastEndpoint!);
    const [a, b] = await Promise.all([serverError, clientError]);
    expect(a.error.reason).toBe("mechanism-mismatch");
    expect(b.error.reason).toBe("mechanism-mismatch");
    expect(b.error.message).toContain("PLAIN");
    expect(seen).toHaveLength(0);
  });

  it("fails two PLAIN servers with role-mismatch", async () => {
    await startAuth();
    const server = track(new Pull({ plainServer: true, linger: 0 }));
    const client = track(new Push({ plainServer: true, linger: 0 }));
    await server.bind(bindAddress(transport));
    const serverError = nextEvent(server, "handshake:error");
    const clientError = nextEvent(client, "handshake:error");
    client.connect(server.lastEndpoint!);
    expect((await serverError).error.reason).toBe("role-mismatch");
    expect((await clientError).error.reason).toBe("role-mismatch");
  });

  it("fails two PLAIN clients with role-mismatch", async () => {
    const server = track(new Pull({ plainUsername: "a", plainPassword: "b", linger: 0 }));
    const client = track(new Push({ plainUsername: "admin", plainPassword: PASSWORD, linger: 0 }));
    await server.bind(bindAddress(transport));
    const serverError = nextEvent(server, "handshake:error");
    client.connect(server.lastEndpoint!);
    expect((await serverError).error.reason).toBe("role-mismatch");
  });
});

it("inproc applies no mechanism, as libzmq: a PLAIN client with a wrong password still connects and ZAP is not asked", async () => {
  await startAuth();
  const server = track(new Pull({ plainServer: true, linger: 0 }));
  const client = track(new Push({ plainUsername: "admin", plainPassword: WRONG, linger: 0 }));
  await server.bind(bindAddress("inproc"));
  client.connect(server.lastEndpoint!);
  await client.send("inproc");
  expect((await server.receive())[0]!.toString()).toBe("inproc");
  expect(seen).toHaveLength(0);
});

it("a raw peer that stalls after WELCOME hits the handshake timeout", async () => {
  await startAuth();
  const server = track(new Pull({ plainServer: true, handshakeInterval: 300, linger: 0 }));
  await server.bind("tcp://127.0.0.1:*");
  const port = Number(server.lastEndpoint!.split(":").pop());
  const failure = nextEvent(server, "handshake:error");
  const raw = net.connect({ host: "127.0.0.1", port });
  raw.on("error", () => undefined);
  const received: Buffer[] = [];
  raw.on("data", (chunk: Buffer) => received.push(chunk));
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 1;
  greeting.write("PLAIN", 12, "ascii");
  const hello = Buffer.concat([Buffer.from([5]), Buffer.from("HELLO"), Buffer.from([5]), Buffer.from("admin"), Buffer.from([PASSWORD.length]), Buffer.from(PASSWORD)]);
  raw.write(Buffer.concat([greeting, Buffer.from([0x04, hello.length]), hello]));
  const { error } = await failure;
  raw.destroy();
  expect(error.reason).toBe("handshake-timeout");
  // It got as far as WELCOME: the stall was mid-handshake, not before it.
  expect(Buffer.concat(received).includes(Buffer.from("\x07WELCOME", "latin1"))).toBe(true);
});

it("the authenticator reports each decision without the password", async () => {
  const authenticator = await startAuth();
  const outcomes = firstValueFrom(authenticator.decisions$.pipe(take(2), toArray(), timeout(5000)));
  for (const password of [PASSWORD, WRONG]) {
    const server = track(new Pull({ plainServer: true, linger: 0 }));
    const client = track(new Push({ plainUsername: "admin", plainPassword: password, linger: 0, reconnectInterval: -1 }));
    await server.bind("tcp://127.0.0.1:*");
    const done = firstValueFrom(server.events$.pipe(filter((e) => e.type === "handshake" || e.type === "handshake:error")));
    client.connect(server.lastEndpoint!);
    await done;
  }
  const [allowed, denied] = await outcomes;
  expect(allowed).toMatchObject({ status: 200, userId: "admin-id", username: "admin" });
  expect(denied).toMatchObject({ status: 400, userId: "" });
  expect(JSON.stringify([allowed, denied])).not.toContain(PASSWORD);
});

it("debug logs of an allowed and a denied handshake never contain the password", async () => {
  const { default: pino } = await import("pino");
  const lines: string[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  await startAuth();
  for (const password of [PASSWORD, WRONG]) {
    const server = track(new Pull({ plainServer: true, linger: 0, logger }));
    const client = track(new Push({ plainUsername: "admin", plainPassword: password, linger: 0, reconnectInterval: -1, logger }));
    await server.bind("tcp://127.0.0.1:*");
    const done = firstValueFrom(server.events$.pipe(filter((e) => e.type === "handshake" || e.type === "handshake:error")));
    client.connect(server.lastEndpoint!);
    await done;
  }
  const text = lines.join("");
  // The logs did record the handshakes (so the check below looked at something)...
  expect(text).toContain("handshake:error");
  expect(text).toContain("authentication-failed");
  // ...and neither password appears in them.
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(WRONG);
});

it("a raw RFC 27 handler on a Reply socket works too, and its metadata and user id reach the peer metadata", async () => {
  const { Reply } = await import("../../src");
  const { encodeMetadata } = await import("../../src/codec/metadata");
  const handler = track(new Reply({ linger: 0 }));
  await handler.bind("inproc://zeromq.zap.01");
  void (async () => {
    for await (const [version, id, , , , , username, password] of handler) {
      const ok = username!.toString() === "admin" && password!.toString() === PASSWORD;
      await handler.send([version!, id!, ok ? "200" : "400", "", ok ? "rep-user" : "", encodeMetadata([["X-Role", "ops"]])]);
    }
  })().catch(() => undefined);
  const server = track(new Pull({ plainServer: true, linger: 0 }));
  const client = track(new Push({ plainUsername: "admin", plainPassword: PASSWORD, linger: 0 }));
  await server.bind("tcp://127.0.0.1:*");
  const handshake = nextEvent(server, "handshake");
  client.connect(server.lastEndpoint!);
  const { peer } = await handshake;
  expect(peer.metadata.get("User-Id")?.toString()).toBe("rep-user");
  expect(peer.metadata.get("X-Role")?.toString()).toBe("ops");
});

/** A raw PLAIN client: greeting, HELLO and `sameWrite` sent in one write; `welcomed` resolves once WELCOME has arrived. */
async function rawPlainClient(port: number, sameWrite = Buffer.alloc(0)): Promise<{ raw: net.Socket; welcomed: Promise<void> }> {
  const raw = net.connect({ host: "127.0.0.1", port });
  raw.on("error", () => undefined);
  await new Promise<void>((resolve) => raw.once("connect", resolve));
  let received = Buffer.alloc(0);
  const welcomed = new Promise<void>((resolve) =>
    raw.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.includes(Buffer.from("\x07WELCOME", "latin1"))) resolve();
    }),
  );
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 1;
  greeting.write("PLAIN", 12, "ascii");
  const hello = Buffer.concat([Buffer.from("\x05HELLO\x05admin", "latin1"), Buffer.from([PASSWORD.length]), Buffer.from(PASSWORD)]);
  raw.write(Buffer.concat([greeting, Buffer.from([0x04, hello.length]), hello, sameWrite]));
  return { raw, welcomed };
}

/** INITIATE announcing an 11-byte property name followed by only 3 bytes. */
const TRUNCATED_INITIATE = Buffer.concat([Buffer.from([0x04, 12]), Buffer.from("\x08INITIATE\x0bSoc", "latin1")]);

it("a raw client whose INITIATE metadata is truncated is refused with malformed-command", async () => {
  await startAuth();
  const server = track(new Pull({ plainServer: true, linger: 0 }));
  await server.bind("tcp://127.0.0.1:*");
  const failure = nextEvent(server, "handshake:error");
  const { raw, welcomed } = await rawPlainClient(Number(server.lastEndpoint!.split(":").pop()));
  await welcomed;
  raw.write(TRUNCATED_INITIATE);
  const { error } = await failure;
  raw.destroy();
  expect(error.reason).toBe("malformed-command");
});

it("a raw client that sends INITIATE before WELCOME (while ZAP is asked) is refused, as libzmq does", async () => {
  await startAuth();
  const server = track(new Pull({ plainServer: true, linger: 0 }));
  await server.bind("tcp://127.0.0.1:*");
  const failure = nextEvent(server, "handshake:error");
  // In the same write as HELLO, so it is read while the ZAP request is still out.
  const { raw } = await rawPlainClient(Number(server.lastEndpoint!.split(":").pop()), TRUNCATED_INITIATE);
  const { error } = await failure;
  raw.destroy();
  expect(error.reason).toBe("unexpected-command");
});

it("a ZAP handler that throws denies with status 500", async () => {
  auth = await zapAuthenticator(() => {
    throw new Error("database down");
  });
  const server = track(new Pull({ plainServer: true, linger: 0 }));
  const client = track(new Push({ plainUsername: "admin", plainPassword: PASSWORD, linger: 0, reconnectInterval: -1 }));
  await server.bind("tcp://127.0.0.1:*");
  const failure = nextEvent(server, "handshake:error");
  client.connect(server.lastEndpoint!);
  const { error } = await failure;
  expect((error as AuthenticationError).status).toBe(500);
});
