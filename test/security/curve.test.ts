/**
 * CURVE (RFC 25 over RFC 26) between Privateer sockets: the handshake over
 * tcp and ipc with and without a ZAP handler, multipart messages and
 * heartbeats inside MESSAGE boxes, refusals as typed events with nothing
 * delivered, role and mechanism mismatches, and what inproc does (no
 * mechanism at all, as in libzmq).
 */
import { AuthenticationError, curveKeyPair, decodeZ85, Dealer, ProtocolError, Pull, Push, Router, zapAuthenticator, type ZapAuthenticator, type ZapAuthRequest } from "../../src";
import { bindAddress, nextEvent, type TransportName } from "../helpers/endpoints";

const server = curveKeyPair();
const client = curveKeyPair();
const stranger = curveKeyPair();

let auth: ZapAuthenticator | undefined;
const seen: ZapAuthRequest[] = [];
const sockets: { close(): void }[] = [];
function track<T extends { close(): void }>(socket: T): T {
  sockets.push(socket);
  return socket;
}

/** A ZAP handler allowing only `client`'s public key, with its Z85 text as the user id. */
async function startAuth(): Promise<ZapAuthenticator> {
  const allowed = Buffer.from(curveKeyBytes(client.publicKey));
  auth = await zapAuthenticator((request) => {
    seen.push(request);
    return request.mechanism === "CURVE" && request.credentials[0]!.equals(allowed)
      ? { allow: true, userId: client.publicKey }
      : { allow: false };
  });
  return auth;
}

const curveKeyBytes = (z85: string): Buffer => decodeZ85(z85);

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  auth?.close();
  auth = undefined;
  seen.length = 0;
});

const curveServer = () => ({ curveServer: true, curveSecretKey: server.secretKey, linger: 0 });
const curveClient = (keys = client) => ({
  curveServerKey: server.publicKey,
  curvePublicKey: keys.publicKey,
  curveSecretKey: keys.secretKey,
  linger: 0,
});

describe.each<TransportName>(["tcp", "ipc"])("CURVE over %s", (transport) => {
  it("handshakes without a ZAP handler (libzmq 4.3 accepts every client) and carries multipart messages both ways", async () => {
    const router = track(new Router({ ...curveServer(), zapDomain: "global" }));
    const dealer = track(new Dealer({ ...curveClient(), routingId: "c1", metadata: { "X-App": "demo" } }));
    await router.bind(bindAddress(transport));
    const handshake = nextEvent(router, "handshake");
    const clientHandshake = nextEvent(dealer, "handshake");
    dealer.connect(router.lastEndpoint!);
    const event = await handshake;
    expect(event.peer.metadata.get("X-App")?.toString()).toBe("demo");
    // No handler answered, so no user id was assigned.
    expect(event.peer.metadata.get("User-Id")).toBeUndefined();
    expect((await clientHandshake).peer.socketType).toBe("ROUTER");
    await dealer.send(["part one", Buffer.alloc(70000, 7), "part three"]);
    const [id, one, two, three] = await router.receive();
    expect(id!.toString()).toBe("c1");
    expect(one!.toString()).toBe("part one");
    expect(two!.equals(Buffer.alloc(70000, 7))).toBe(true);
    expect(three!.toString()).toBe("part three");
    await router.send(["c1", "reply", ""]);
    const reply = await dealer.receive();
    expect(reply.map(String)).toEqual(["reply", ""]);
  });

  it("asks the ZAP handler with the client's long-term key and passes its user id on", async () => {
    await startAuth();
    const router = track(new Router({ ...curveServer(), zapDomain: "global" }));
    const dealer = track(new Dealer({ ...curveClient(), routingId: "c1" }));
    await router.bind(bindAddress(transport));
    const handshake = nextEvent(router, "handshake");
    dealer.connect(router.lastEndpoint!);
    expect((await handshake).peer.metadata.get("User-Id")?.toString()).toBe(client.publicKey);
    await dealer.send("hello");
    expect((await router.receive()).map(String)).toEqual(["c1", "hello"]);
    expect(router.peerMetadata("c1")?.get("user-id")?.toString()).toBe(client.publicKey);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ domain: "global", mechanism: "CURVE" });
    expect(seen[0]!.credentials).toHaveLength(1);
    expect(seen[0]!.credentials[0]!.equals(curveKeyBytes(client.publicKey))).toBe(true);
  });

  it("a key the ZAP handler denies: status 400 on both sides, nothing delivered, no secret key in any text", async () => {
    await startAuth();
    const pull = track(new Pull({ ...curveServer() }));
    const push = track(new Push({ ...curveClient(stranger), reconnectInterval: -1 }));
    await pull.bind(bindAddress(transport));
    const serverError = nextEvent(pull, "handshake:error");
    const clientError = nextEvent(push, "handshake:error");
    push.connect(pull.lastEndpoint!);
    void push.send("must not arrive").catch(() => undefined);
    const [onServer, onClient] = await Promise.all([serverError, clientError]);
    for (const { error } of [onServer, onClient]) {
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(400);
      const text = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
      for (const secret of [stranger.secretKey, server.secretKey, client.secretKey]) expect(text).not.toContain(secret);
    }
    pull.receiveTimeout = 300;
    await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("a client with the wrong server key cannot open WELCOME; the server cannot open HELLO", async () => {
    const pull = track(new Pull({ ...curveServer() }));
    const push = track(new Push({ ...curveClient(), curveServerKey: stranger.publicKey, reconnectInterval: -1 }));
    await pull.bind(bindAddress(transport));
    const serverError = nextEvent(pull, "handshake:error");
    push.connect(pull.lastEndpoint!);
    const { error } = await serverError;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.reason).toBe("decrypt-failed");
  });

  it("heartbeats travel boxed: PING/PONG keep an idle CURVE connection alive past the timeout", async () => {
    const pull = track(new Pull({ ...curveServer(), heartbeatInterval: 50, heartbeatTimeout: 150 }));
    const push = track(new Push({ ...curveClient(), heartbeatInterval: 50, heartbeatTimeout: 150 }));
    await pull.bind(bindAddress(transport));
    const handshake = nextEvent(pull, "handshake");
    push.connect(pull.lastEndpoint!);
    await handshake;
    const dropped = nextEvent(pull, "disconnect", 800).then(() => "dropped", () => "alive");
    expect(await dropped).toBe("alive");
    await push.send("still here");
    expect((await pull.receive())[0]!.toString()).toBe("still here");
  });
});

it("two CURVE servers fail with role-mismatch; CURVE against NULL with mechanism-mismatch", async () => {
  const pull = track(new Pull({ ...curveServer() }));
  await pull.bind("tcp://127.0.0.1:*");
  const both = track(new Push({ ...curveServer(), reconnectInterval: -1 }));
  const roleError = nextEvent(both, "handshake:error");
  both.connect(pull.lastEndpoint!);
  expect((await roleError).error.reason).toBe("role-mismatch");
  const plainNull = track(new Push({ linger: 0, reconnectInterval: -1 }));
  const mechanismError = nextEvent(plainNull, "handshake:error");
  plainNull.connect(pull.lastEndpoint!);
  expect((await mechanismError).error.reason).toBe("mechanism-mismatch");
});

it("CURVE against PLAIN fails with mechanism-mismatch on both ends", async () => {
  const pull = track(new Pull({ ...curveServer() }));
  await pull.bind("tcp://127.0.0.1:*");
  const serverError = nextEvent(pull, "handshake:error");
  const plain = track(new Push({ plainUsername: "admin", plainPassword: "pw", linger: 0, reconnectInterval: -1 }));
  const clientError = nextEvent(plain, "handshake:error");
  plain.connect(pull.lastEndpoint!);
  expect((await clientError).error.reason).toBe("mechanism-mismatch");
  expect((await serverError).error.reason).toBe("mechanism-mismatch");
});

it("two CURVE clients fail with role-mismatch", async () => {
  const pull = track(new Pull({ ...curveClient() }));
  await pull.bind("tcp://127.0.0.1:*");
  const push = track(new Push({ ...curveClient(), reconnectInterval: -1 }));
  const roleError = nextEvent(push, "handshake:error");
  push.connect(pull.lastEndpoint!);
  expect((await roleError).error.reason).toBe("role-mismatch");
});

it("a client without its own secret key fails its handshake with invalid-key (nothing is generated for it)", async () => {
  const pull = track(new Pull({ ...curveServer() }));
  await pull.bind("tcp://127.0.0.1:*");
  const push = track(new Push({ curveServerKey: server.publicKey, linger: 0, reconnectInterval: -1 }));
  const error = nextEvent(push, "handshake:error");
  push.connect(pull.lastEndpoint!);
  expect((await error).error.reason).toBe("invalid-key");
});

it("inproc applies no mechanism, as libzmq: a CURVE client with the wrong server key still connects and ZAP is not asked", async () => {
  await startAuth();
  const pull = track(new Pull({ ...curveServer() }));
  const push = track(new Push({ ...curveClient(stranger), curveServerKey: stranger.publicKey }));
  await pull.bind(bindAddress("inproc"));
  push.connect(pull.lastEndpoint!);
  await push.send("inproc");
  expect((await pull.receive())[0]!.toString()).toBe("inproc");
  expect(seen).toHaveLength(0);
});
