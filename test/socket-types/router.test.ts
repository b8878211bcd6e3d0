import { Dealer, PrivateerError, Request, Router, type SocketBase } from "../../src";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { untilQueued } from "../helpers/sockets";

/**
 * ROUTER semantics (RFC 28; libzmq's test_spec_router,
 * test_router_mandatory, test_router_handover and test_connect_rid), over
 * every transport.
 */

describe.each(TRANSPORTS)("ROUTER over %s", (transport) => {
  const sockets: SocketBase[] = [];
  const track = <T extends SocketBase>(socket: T): T => {
    sockets.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...sockets.splice(0)));

  it("prefixes each message with the routing id the peer chose", async () => {
    const router = track(new Router());
    const dealer = track(new Dealer({ routingId: "alice" }));
    await link(router, [dealer], transport);
    await dealer.send(["a", "b"]);
    expect(text(await router.receive())).toEqual(["alice", "a", "b"]);
  });

  it("gives anonymous peers distinct generated 5-byte ids starting with a zero byte", async () => {
    const router = track(new Router());
    const dealers = [0, 1].map(() => track(new Dealer()));
    await link(router, dealers, transport);

    const ids = new Map<string, Buffer>();
    for (const [i, dealer] of dealers.entries()) {
      await dealer.send(`from-${i}`);
      const [id, body] = await router.receive();
      expect(body!.toString()).toBe(`from-${i}`);
      expect(id).toHaveLength(5);
      expect(id![0]).toBe(0);
      ids.set(body!.toString(), id!);
    }
    expect(ids.get("from-0")!.equals(ids.get("from-1")!)).toBe(false);

    // The generated id addresses the peer.
    await router.send([ids.get("from-1")!, "to-1"]);
    await router.send([ids.get("from-0")!, "to-0"]);
    expect(text(await dealers[0]!.receive())).toEqual(["to-0"]);
    expect(text(await dealers[1]!.receive())).toEqual(["to-1"]);
  });

  it("routes each reply to the peer named by its first frame", async () => {
    const router = track(new Router());
    const names = ["A", "B", "C"];
    const dealers = names.map((routingId) => track(new Dealer({ routingId })));
    await link(router, dealers, transport);

    for (const name of [...names].reverse()) await router.send([name, `for-${name}`, "tail"]);
    for (const [i, dealer] of dealers.entries()) {
      expect(text(await dealer.receive())).toEqual([`for-${names[i]}`, "tail"]);
    }
  });

  it("serves REQ peers: the envelope it receives is what it sends back", async () => {
    const router = track(new Router());
    const reqs = [0, 1].map(() => track(new Request()));
    await link(router, reqs, transport);

    for (const [i, req] of reqs.entries()) await req.send(`q${i}`);
    for (let n = 0; n < reqs.length; n++) {
      const [id, delimiter, body] = await router.receive();
      expect(delimiter!.length).toBe(0);
      await router.send([id!, delimiter!, `re:${body!.toString()}`]);
    }
    for (const [i, req] of reqs.entries()) expect(text(await req.receive())).toEqual([`re:q${i}`]);
  });

  it("fair-queues incoming messages from its peers", async () => {
    const router = track(new Router());
    const names = ["p", "q", "r"];
    const dealers = names.map((routingId) => track(new Dealer({ routingId })));
    await link(router, dealers, transport);

    for (const dealer of dealers) for (let k = 0; k < 3; k++) await dealer.send(String(k));
    await untilQueued(router, 3);

    const order: string[] = [];
    for (let n = 0; n < 9; n++) order.push(text(await router.receive()).join(":"));
    for (let round = 0; round < 3; round++) {
      const slice = order.slice(round * 3, round * 3 + 3);
      expect(slice.map((entry) => entry.split(":")[0]).sort()).toEqual(names);
      expect(slice.every((entry) => entry.endsWith(`:${round}`))).toBe(true);
    }
  });

  it("silently drops a message for an unknown routing id", async () => {
    const router = track(new Router());
    const dealer = track(new Dealer({ routingId: "known" }));
    await link(router, [dealer], transport);

    await expect(router.send(["nobody", "lost"])).resolves.toBeUndefined();
    // A bare routing id has nothing to deliver either.
    await expect(router.send(["known"])).resolves.toBeUndefined();
    await router.send(["known", "found"]);
    expect(text(await dealer.receive())).toEqual(["found"]);
  });

  it("with mandatory, fails a send to an unknown routing id with EHOSTUNREACH", async () => {
    const router = track(new Router({ mandatory: true }));
    await router.bind(bindAddress(transport));
    const failure = await router.send(["UNKNOWN", "DATA"]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PrivateerError);
    expect((failure as PrivateerError).code).toBe("EHOSTUNREACH");

    // Once the peer is there, the same send goes through.
    const dealer = track(new Dealer({ routingId: "UNKNOWN" }));
    const handshake = nextEvent(router, "handshake");
    dealer.connect(router.lastEndpoint!);
    await handshake;
    await router.send(["UNKNOWN", "DATA"]);
    expect(text(await dealer.receive())).toEqual(["DATA"]);
  });

  it("with mandatory, fails again with EHOSTUNREACH after the peer has gone", async () => {
    const router = track(new Router({ mandatory: true }));
    const dealer = track(new Dealer({ routingId: "X" }));
    await link(router, [dealer], transport);
    await router.send(["X", "hello"]);
    expect(text(await dealer.receive())).toEqual(["hello"]);

    // inproc tears the pipe down inside close(); stream transports report it.
    const gone = transport === "inproc" ? Promise.resolve() : nextEvent(router, "disconnect");
    closeAll(dealer);
    await gone;
    await expect(router.send(["X", "again"])).rejects.toMatchObject({ code: "EHOSTUNREACH" });
  });

  it("refuses a second peer with a routing id already in use", async () => {
    const router = track(new Router());
    const original = track(new Dealer({ routingId: "X" }));
    await link(router, [original], transport);

    const impostor = track(new Dealer({ routingId: "X", reconnectInterval: -1 }));
    const refused = nextEvent(router, "handshake:error");
    impostor.connect(router.lastEndpoint!);
    const { error } = await refused;
    expect(error.reason).toBe("duplicate-routing-id");

    // The first peer keeps the id, both ways.
    await router.send(["X", "still yours"]);
    expect(text(await original.receive())).toEqual(["still yours"]);
    await original.send("from original");
    expect(text(await router.receive())).toEqual(["X", "from original"]);
  });

  it("with handover, lets a new peer with the same routing id take it over", async () => {
    const router = track(new Router({ handover: true }));
    // No reconnect for the old peer, or it would take the id back.
    const old = track(new Dealer({ routingId: "X", reconnectInterval: -1 }));
    await link(router, [old], transport);
    await old.send("from old");
    expect(text(await router.receive())).toEqual(["X", "from old"]);

    const replacement = track(new Dealer({ routingId: "X" }));
    const handshake = nextEvent(router, "handshake");
    // The old connection is dropped (inproc drops it silently, inside the handshake).
    const oldDropped = transport === "inproc" ? Promise.resolve() : nextEvent(old, "disconnect");
    replacement.connect(router.lastEndpoint!);
    expect((await handshake).peer.routingId.toString()).toBe("X");
    await oldDropped;
    // Nothing from the old peer gets through any more; this send may never settle.
    old.send("stale").catch(() => undefined);

    await router.send(["X", "first"]);
    await router.send(["X", "second"]);
    expect(text(await replacement.receive())).toEqual(["first"]);
    expect(text(await replacement.receive())).toEqual(["second"]);
    await replacement.send("from new");
    expect(text(await router.receive())).toEqual(["X", "from new"]);
  });

  it("talks to another ROUTER, naming it with connect(ep, { routingId })", async () => {
    const server = track(new Router({ routingId: "server-side" }));
    const client = track(new Router({ routingId: "client-side" }));
    await server.bind(bindAddress(transport));
    const serverHandshake = nextEvent(server, "handshake");
    const clientHandshake = nextEvent(client, "handshake");
    client.connect(server.lastEndpoint!, { routingId: "srv" });
    await Promise.all([serverHandshake, clientHandshake]);

    await client.send(["srv", "hello"]);
    expect(text(await server.receive())).toEqual(["client-side", "hello"]);
    await server.send(["client-side", "hi there"]);
    // The local name given to connect() wins over the peer's own routing id.
    expect(text(await client.receive())).toEqual(["srv", "hi there"]);
  });

  it("rejects a message with no frames", async () => {
    const router = track(new Router());
    await router.bind(bindAddress(transport));
    await expect(router.send([])).rejects.toMatchObject({ code: "EINVAL" });
  });
});
