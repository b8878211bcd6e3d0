/**
 * Port of libzmq tests/test_heartbeats.cpp, over tcp and ipc (inproc has no
 * wire, hence no heartbeats). A hand-driven ZMTP peer plays libzmq's mock
 * client: it completes the handshake and then goes silent, or pings on its
 * own. Every heartbeat timer runs on the socket's scheduler, so the tests
 * advance virtual time and check the exact moment a connection is dropped.
 *
 *  - heartbeat timeout: a socket with heartbeatInterval PINGs an idle peer
 *    and drops it when nothing comes back within heartbeatTimeout
 *    (defaulting to the interval);
 *  - mock ping: a socket without heartbeats answers a PING with a PONG that
 *    echoes its context;
 *  - TTL: a peer that announced a TTL in its PING is dropped after that
 *    long without traffic, and the TTL we set travels in our PINGs.
 *
 * A peer that answers every PING stays connected (here, a raw peer over ten
 * intervals; between real libzmq/pyzmq peers, in test/interop).
 */
import { VirtualTimeScheduler } from "rxjs";
import {
  Dealer,
  Pair,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
  type SocketBase,
  type SocketEvent,
} from "../../src";
import { bindAddress, closeAll, nextEvent } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";
import { advanceTo, nextTurn } from "./support";

type Disconnect = Extract<SocketEvent, { type: "disconnect" }>;

/** Records disconnect events, so a test can check none happened up to a given moment. */
function disconnects(socket: SocketBase): Disconnect[] {
  const seen: Disconnect[] = [];
  socket.events$.subscribe((event) => {
    if (event.type === "disconnect") seen.push(event);
  });
  return seen;
}

function ping(ttlDeciseconds: number, context: Buffer | string = ""): Buffer {
  const ttl = Buffer.alloc(2);
  ttl.writeUInt16BE(ttlDeciseconds, 0);
  return zmtp.command("PING", Buffer.concat([ttl, Buffer.from(context)]));
}

describe.each(["tcp", "ipc"] as const)("test_heartbeats over %s", (transport) => {
  const sockets: SocketBase[] = [];
  const peers: RawPeer[] = [];
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.destroy();
    closeAll(...sockets.splice(0));
  });
  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }

  /** A bound ROUTER on a virtual clock and a raw DEALER that completed the handshake with it. */
  async function routerWithRawPeer(options: ConstructorParameters<typeof Router>[0] = {}) {
    const scheduler = new VirtualTimeScheduler();
    const router = track(new Router({ scheduler, ...options }));
    await router.bind(bindAddress(transport));
    const handshake = nextEvent(router, "handshake");
    const peer = await RawPeer.connectAs(router.lastEndpoint!, { "Socket-Type": "DEALER", Identity: "" });
    peers.push(peer);
    await handshake;
    await peer.skipToCommand("READY");
    return { scheduler, router, peer, dropped: disconnects(router) };
  }

  it("PINGs a silent peer after heartbeatInterval and drops it heartbeatInterval after that PING (test_heartbeat_timeout)", async () => {
    const { scheduler, peer, dropped } = await routerWithRawPeer({ heartbeatInterval: 50 });
    advanceTo(scheduler, 50);
    // No TTL configured: the PING carries 0, and no context.
    expect([...(await peer.skipToCommand("PING"))]).toEqual([0, 0]);
    advanceTo(scheduler, 99);
    await nextTurn();
    expect(dropped).toHaveLength(0);

    advanceTo(scheduler, 100);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.error).toMatchObject({ code: "EPROTO", reason: "heartbeat-timeout" });
    await peer.whenClosed();
  });

  it("waits heartbeatTimeout, not the interval, when it is set", async () => {
    const { scheduler, peer, dropped } = await routerWithRawPeer({ heartbeatInterval: 50, heartbeatTimeout: 200 });
    for (const at of [50, 100, 150, 200]) {
      advanceTo(scheduler, at);
      await peer.skipToCommand("PING");
    }
    advanceTo(scheduler, 249);
    await nextTurn();
    expect(dropped).toHaveLength(0);
    advanceTo(scheduler, 250);
    expect(dropped[0]!.error).toMatchObject({ reason: "heartbeat-timeout" });
  });

  it("keeps a peer that answers each PING, however long it runs", async () => {
    const { scheduler, router, peer, dropped } = await routerWithRawPeer({ heartbeatInterval: 50 });
    for (let round = 1; round <= 10; round++) {
      advanceTo(scheduler, round * 50);
      const context = await peer.skipToCommand("PING");
      expect([...context]).toEqual([0, 0]);
      // Answer a little later, so the answer is traffic after the PING, then
      // send a message behind it: when the ROUTER has read that, it has read the PONG.
      advanceTo(scheduler, round * 50 + 10);
      peer.write(Buffer.concat([zmtp.command("PONG"), zmtp.frame(0, `alive ${round}`)]));
      expect((await router.receive()).map(String)[1]).toBe(`alive ${round}`);
    }
    advanceTo(scheduler, 11 * 50);
    expect(dropped).toHaveLength(0);
    expect(peer.closed).toBe(false);
  });

  it("answers a peer's PING with a PONG echoing its context, without heartbeats of its own (mock ping)", async () => {
    const { peer, dropped } = await routerWithRawPeer();
    peer.write(ping(0, "LOL"));
    const pong = await peer.nextFrame();
    // libzmq's expected bytes: flags 4, size 8, name-length 4, "PONG", "LOL".
    expect(Buffer.concat([Buffer.from([pong.flags, pong.body.length]), pong.body])).toEqual(
      Buffer.from([4, 8, 4, ..."PONGLOL"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0)))),
    );
    expect(dropped).toHaveLength(0);
  });

  // libzmq truncates a PING context longer than 16 bytes and still answers; so do we.
  it("answers a PING with a 58-byte context with a PONG of its first 16 bytes, as libzmq does", async () => {
    const { peer } = await routerWithRawPeer();
    peer.write(ping(0, "LOL".padEnd(58, "z")));
    const pong = await peer.skipToCommand("PONG");
    expect(pong.toString()).toBe("LOL".padEnd(16, "z"));
  });

  it("drops a peer that announced a TTL once it stays silent that long (test_heartbeat_ttl)", async () => {
    const { scheduler, peer, dropped } = await routerWithRawPeer();
    // TTL 1 decisecond = 100 ms; the PONG shows the PING was read at virtual time 0.
    peer.write(ping(1));
    await peer.skipToCommand("PONG");
    advanceTo(scheduler, 99);
    await nextTurn();
    expect(dropped).toHaveLength(0);
    advanceTo(scheduler, 100);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.error).toMatchObject({ reason: "heartbeat-timeout" });
    await peer.whenClosed();
  });

  it("counts any traffic against the TTL: it runs from the last thing received", async () => {
    const { scheduler, router, peer, dropped } = await routerWithRawPeer();
    peer.write(ping(1));
    await peer.skipToCommand("PONG");
    advanceTo(scheduler, 60);
    peer.write(zmtp.frame(0, "still here"));
    expect((await router.receive()).map(String)[1]).toBe("still here");
    advanceTo(scheduler, 159);
    await nextTurn();
    expect(dropped).toHaveLength(0);
    advanceTo(scheduler, 160);
    expect(dropped).toHaveLength(1);
  });

  it("sends heartbeatTimeToLive in its PINGs, in tenths of a second", async () => {
    const { scheduler, peer } = await routerWithRawPeer({ heartbeatInterval: 250, heartbeatTimeToLive: 2500 });
    advanceTo(scheduler, 250);
    expect([...(await peer.skipToCommand("PING"))]).toEqual([0, 25]);
  });
});

type Make = (options: object) => SocketBase;
const PAIRINGS: Array<[string, Make, Make]> = [
  ["DEALER to ROUTER", (o) => new Dealer(o), (o) => new Router(o)],
  ["REQ to REP", (o) => new Request(o), (o) => new Reply(o)],
  ["PULL to PUSH", (o) => new Pull(o), (o) => new Push(o)],
  ["SUB to PUB", (o) => new Subscriber(o), (o) => new Publisher(o)],
  ["PAIR to PAIR", (o) => new Pair(o), (o) => new Pair(o)],
];

describe.each(["tcp", "ipc"] as const)("test_heartbeats: our TTL honoured by our own server, over %s", (transport) => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));

  // libzmq's test_heartbeat_ttl: the client asks for a TTL of 100 ms and
  // pings every 250 ms; the server, which has no heartbeats of its own, drops
  // it 100 ms after reading the PING. Each side has its own virtual clock.
  it.each(PAIRINGS)("%s", async (_name, makeClient, makeServer) => {
    const clientClock = new VirtualTimeScheduler();
    const serverClock = new VirtualTimeScheduler();
    const client = makeClient({ scheduler: clientClock, heartbeatInterval: 250, heartbeatTimeToLive: 100 });
    const server = makeServer({ scheduler: serverClock });
    sockets.push(client, server);

    await server.bind(bindAddress(transport));
    // Both ends: the client's heartbeat timer starts with its own handshake.
    const up = [nextEvent(server, "handshake"), nextEvent(client, "handshake")];
    client.connect(server.lastEndpoint!);
    await Promise.all(up);
    const dropped = disconnects(server);

    advanceTo(clientClock, 250);
    await ttlArmed(serverClock, dropped);
    advanceTo(serverClock, 99);
    await nextTurn();
    expect(dropped).toHaveLength(0);
    advanceTo(serverClock, 100);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.error).toMatchObject({ reason: "heartbeat-timeout" });
  });
});

/**
 * A PING carries no message, so nothing the application sees shows that the
 * server has read it; but reading it arms the TTL timer on the server's
 * clock (at its current time, 0), and that timer is visible among the
 * clock's actions. Waits, turn by turn, for it to appear.
 */
async function ttlArmed(clock: VirtualTimeScheduler, dropped: Disconnect[]): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (clock.actions.some((action) => !action.closed && action.delay === 100)) return;
    if (dropped.length > 0) throw new Error("dropped before the TTL could be checked");
    await nextTurn();
  }
  throw new Error("the server never armed a TTL timer");
}
