/**
 * CURVE interop with zeromq.js 6 (libzmq 4.3.5 with libsodium): every
 * socket pairing of the NULL interop suite once each way over CURVE (the
 * binder is the CURVE server; subscriptions travel as boxed SUBSCRIBE
 * commands), heartbeats across an idle spell, and ZAP both ways: a
 * zeromq.js ZAP handler in front of a zeromq.js server, `zapAuthenticator`
 * in front of ours, each with a denied-key control. Server keys come from
 * zeromq.js's `curveKeyPair()`, client keys from ours, so each library uses
 * keys the other generated.
 */
import * as zmq from "zeromq";
import * as pv from "../../src";
import { AuthenticationError, curveKeyPair, decodeZ85 } from "../../src";
import { bindAddress, nextEvent, type TransportName } from "../helpers/endpoints";
import {
  libzmqSide,
  linkPeers,
  Peers,
  privateerSide,
  texts,
} from "./helpers/zeromq-js-peers";
import { PAIRINGS, type Pairing } from "./helpers/pairings";

const serverKeys = zmq.curveKeyPair();
const clientKeys = curveKeyPair();
const strangerKeys = curveKeyPair();

const peers = new Peers();
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  peers.closeAll();
});

const SERVER = { curveServer: true, curveSecretKey: serverKeys.secretKey };
const CLIENT = {
  curveServerKey: serverKeys.publicKey,
  curvePublicKey: clientKeys.publicKey,
  curveSecretKey: clientKeys.secretKey,
};

// ---------------------------------------------------------------------------
// Every pairing, once with Privateer as CURVE server and once as client
// ---------------------------------------------------------------------------

interface CurveCase {
  readonly pairing: Pairing;
  /** Privateer plays `a` and binds as CURVE server, or plays `b` and connects as CURVE client to libzmq's `a`. */
  readonly privateer: "server" | "client";
}

const CASES: CurveCase[] = PAIRINGS.flatMap((pairing) => [
  { pairing, privateer: "server" as const },
  { pairing, privateer: "client" as const },
]);

describe("socket pairings over CURVE against libzmq (tcp)", () => {
  it.each(CASES.map((c) => [`${c.pairing.a}-${c.pairing.b}: Privateer ${c.privateer === "server" ? c.pairing.a + " binds as CURVE server" : c.pairing.b + " connects as CURVE client"}`, c] as const))(
    "%s",
    async (_name, { pairing, privateer }) => {
      const ourRole = privateer === "server" ? "a" : "b";
      const theirRole = privateer === "server" ? "b" : "a";
      // Options are built apart from the call: the helpers type only the options they share.
      const ourOptions = { ...pairing.options?.[ourRole], ...(privateer === "server" ? SERVER : CLIENT) };
      const theirOptions = { ...pairing.options?.[theirRole], ...(privateer === "server" ? CLIENT : SERVER) };
      const ours = peers.privateerSocket(pairing[ourRole], ourOptions);
      const theirs = peers.libzmqSocket(pairing[theirRole], theirOptions);
      expect(ours.curveServer).toBe(privateer === "server");
      const handshake = await linkPeers(peers, ours, theirs, privateer === "server" ? "privateer" : "libzmq", "tcp");
      expect(handshake.peer.socketType).toBe(pairing[theirRole]);
      const ourSide = privateerSide(pairing[ourRole], ours);
      const theirSide = libzmqSide(pairing[theirRole], theirs);
      if (ourRole === "a") await pairing.exchange(ourSide, theirSide);
      else await pairing.exchange(theirSide, ourSide);
    },
  );
});

// ---------------------------------------------------------------------------
// Heartbeats and ZAP, tcp and ipc
// ---------------------------------------------------------------------------

/**
 * A libzmq ZAP handler written with zeromq.js: REP on inproc://zeromq.zap.01 in a context of its own
 * (shared with the server it guards), allowing only `allowed` and naming the user "js-user".
 */
async function zeromqZapHandler(context: zmq.Context, allowed: string): Promise<zmq.Reply> {
  const handler = new zmq.Reply({ linger: 0, context });
  await handler.bind("inproc://zeromq.zap.01");
  const key = decodeZ85(allowed);
  void (async () => {
    for await (const [version, id, , , , mechanism, credential] of handler) {
      const ok = mechanism?.toString() === "CURVE" && credential !== undefined && key.equals(credential);
      await handler.send([version!, id!, ok ? "200" : "400", ok ? "OK" : "Denied", ok ? "js-user" : "", ""]);
    }
  })().catch(() => undefined);
  return handler;
}

const HEARTBEAT = { heartbeatInterval: 100, heartbeatTimeout: 300 };
const IDLE = 800;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each<TransportName>(["tcp", "ipc"])("CURVE with zeromq.js over %s", (transport) => {
  it("our client, a zeromq.js server: multipart both ways, heartbeats on both ends across an idle spell", async () => {
    const server = peers.libzmqSocket<zmq.Router>("ROUTER", { ...SERVER, ...HEARTBEAT });
    const client = peers.privateerSocket<pv.Dealer>("DEALER", { ...CLIENT, ...HEARTBEAT, routingId: "ours" });
    await linkPeers(peers, client, server, "libzmq", transport);
    await client.send(["one", Buffer.alloc(300, 1), ""]);
    const [id, ...body] = await server.receive();
    expect(id!.toString()).toBe("ours");
    expect(body).toHaveLength(3);
    expect(body[0]!.toString()).toBe("one");
    expect(body[1]!.equals(Buffer.alloc(300, 1))).toBe(true);
    expect(body[2]!.length).toBe(0);
    const dropped = nextEvent(client, "disconnect", IDLE).then(() => true, () => false);
    await delay(IDLE);
    expect(await dropped).toBe(false);
    await server.send([id!, "two", "parts"]);
    expect(texts(await client.receive())).toEqual(["two", "parts"]);
  });

  it("a zeromq.js client, our server: multipart both ways, heartbeats on both ends across an idle spell", async () => {
    const server = peers.privateerSocket<pv.Router>("ROUTER", { ...SERVER, ...HEARTBEAT });
    const client = peers.libzmqSocket<zmq.Dealer>("DEALER", { ...CLIENT, ...HEARTBEAT, routingId: "theirs" });
    await linkPeers(peers, server, client, "privateer", transport);
    await client.send(["one", Buffer.alloc(70000, 2)]);
    const [id, ...body] = await server.receive();
    expect(id!.toString()).toBe("theirs");
    // Buffer.equals, not toEqual: jest's deep equality over 70,000 bytes blocks the event loop for
    // longer than the 300 ms heartbeat timeout, and libzmq rightly drops the connection.
    expect(body).toHaveLength(2);
    expect(body[0]!.toString()).toBe("one");
    expect(body[1]!.equals(Buffer.alloc(70000, 2))).toBe(true);
    const dropped = nextEvent(server, "disconnect", IDLE).then(() => true, () => false);
    await delay(IDLE);
    expect(await dropped).toBe(false);
    await server.send([id!, "two", "parts"]);
    expect(texts(await client.receive())).toEqual(["two", "parts"]);
  });

  it("our client to a zeromq.js server behind a zeromq.js ZAP handler that allows our key", async () => {
    const context = new zmq.Context({ blocky: false });
    const handler = await zeromqZapHandler(context, clientKeys.publicKey);
    cleanup.push(() => handler.close());
    const server = new zmq.Pull({ ...SERVER, linger: 0, receiveTimeout: 5000, context });
    cleanup.push(() => server.close());
    await server.bind(transport === "tcp" ? "tcp://127.0.0.1:*" : bindAddress("ipc"));
    const client = peers.privateerSocket<pv.Push>("PUSH", { ...CLIENT, routingId: "ours" });
    const handshake = nextEvent(client, "handshake");
    client.connect(server.lastEndpoint!);
    await client.send("from-privateer");
    await handshake;
    expect(texts(await server.receive())).toEqual(["from-privateer"]);
  });

  it("control: a key the zeromq.js ZAP handler does not allow is denied (status 400), nothing delivered", async () => {
    const context = new zmq.Context({ blocky: false });
    const handler = await zeromqZapHandler(context, clientKeys.publicKey);
    cleanup.push(() => handler.close());
    const server = new zmq.Pull({ ...SERVER, linger: 0, receiveTimeout: 500, context });
    cleanup.push(() => server.close());
    await server.bind(transport === "tcp" ? "tcp://127.0.0.1:*" : bindAddress("ipc"));
    const client = new pv.Push({
      ...CLIENT,
      curvePublicKey: strangerKeys.publicKey,
      curveSecretKey: strangerKeys.secretKey,
      linger: 0,
      reconnectInterval: -1,
    });
    cleanup.push(() => client.close());
    const failure = nextEvent(client, "handshake:error");
    client.connect(server.lastEndpoint!);
    void client.send("must-not-arrive").catch(() => undefined);
    const { error } = await failure;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(400);
    await expect(server.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  describe("a zeromq.js client to our server with a zapAuthenticator allow-list", () => {
    beforeEach(async () => {
      const allowed = decodeZ85(clientKeys.publicKey);
      const auth = await pv.zapAuthenticator((request) =>
        request.mechanism === "CURVE" && request.credentials[0]?.equals(allowed) ? { allow: true, userId: "zmqjs-user" } : { allow: false },
      );
      cleanup.push(() => auth.close());
    });

    it("allows the listed key, with the ZAP user id as User-Id", async () => {
      const server = new pv.Pull({ ...SERVER, linger: 0 });
      cleanup.push(() => server.close());
      await server.bind(bindAddress(transport));
      const handshake = nextEvent(server, "handshake");
      const client = new zmq.Push({ ...CLIENT, linger: 0 });
      cleanup.push(() => client.close());
      client.connect(server.lastEndpoint!);
      await client.send("from-zeromq.js");
      expect((await handshake).peer.metadata.get("User-Id")?.toString()).toBe("zmqjs-user");
      expect(texts(await server.receive())).toEqual(["from-zeromq.js"]);
    });

    it("control: refuses an unlisted key with status 400, nothing delivered", async () => {
      const server = new pv.Pull({ ...SERVER, linger: 0, receiveTimeout: 500 });
      cleanup.push(() => server.close());
      await server.bind(bindAddress(transport));
      const failure = nextEvent(server, "handshake:error");
      const client = new zmq.Push({ ...CLIENT, curvePublicKey: strangerKeys.publicKey, curveSecretKey: strangerKeys.secretKey, linger: 0 });
      cleanup.push(() => client.close());
      client.connect(server.lastEndpoint!);
      void client.send("must-not-arrive").catch(() => undefined);
      const { error } = await failure;
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(400);
      await expect(server.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    });
  });
});
