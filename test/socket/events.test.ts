import { VirtualTimeScheduler } from "rxjs";
import { Pull, Push, type SocketBase, type SocketEvent } from "../../src";
import { advanceTo } from "../helpers/clock";
import { bindAddress, closeAll, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";
import { rejection } from "./support";

/** Every event a socket emits from now on, in order. */
function record(socket: SocketBase): SocketEvent[] {
  const log: SocketEvent[] = [];
  socket.events$.subscribe((event) => log.push(event));
  return log;
}

const types = (log: SocketEvent[]): string[] => log.map((event) => event.type);

describe.each(TRANSPORTS)("socket events over %s", (transport) => {
  let server: Pull;
  let client: Push;

  beforeEach(() => {
    server = new Pull();
    client = new Push();
  });
  afterEach(() => closeAll(server, client));

  it("reports bind, accept/connect, handshake, disconnect and close, in that order", async () => {
    const serverLog = record(server);
    const clientLog = record(client);
    await server.bind(bindAddress(transport));
    const address = server.lastEndpoint!;

    const serverHandshake = nextEvent(server, "handshake");
    const clientHandshake = nextEvent(client, "handshake");
    client.connect(address);
    const [atServer, atClient] = await Promise.all([serverHandshake, clientHandshake]);

    // The handshake event says who the peer is.
    expect(atClient.peer.socketType).toBe("PULL");
    expect(atServer.peer.socketType).toBe("PUSH");
    expect(atClient.address).toBe(address);
    if (transport === "inproc") {
      expect(atClient.peer.protocol).toBe("inproc");
    } else {
      expect(atClient.peer.protocol).toBe("ZMTP/3.1");
      expect(atClient.peer.metadata.get("socket-type")?.toString()).toBe("PULL");
      expect(atServer.peer.metadata.get("socket-type")?.toString()).toBe("PUSH");
    }

    const serverSawDisconnect = nextEvent(server, "disconnect");
    const clientClosed = nextEvent(client, "close");
    client.close();
    await Promise.all([serverSawDisconnect, clientClosed]);
    const serverClosed = nextEvent(server, "close");
    server.close();
    await serverClosed;

    expect(types(serverLog)).toEqual(["bind", "accept", "handshake", "disconnect", "close"]);
    expect(types(clientLog)).toEqual(["connect", "handshake", "disconnect", "close"]);
    expect(serverLog[0]).toEqual({ type: "bind", address });
  });

  it("completes events$ with the close event", async () => {
    let completed = false;
    const seen: string[] = [];
    server.events$.subscribe({ next: (event) => seen.push(event.type), complete: () => (completed = true) });
    await server.bind(bindAddress(transport));
    const closed = nextEvent(server, "close");
    server.close();
    await closed;
    expect(seen).toEqual(["bind", "close"]);
    expect(completed).toBe(true);
  });

  it("resolves the bound address in lastEndpoint", async () => {
    expect(server.lastEndpoint).toBeNull();
    const requested = bindAddress(transport);
    const bound = nextEvent(server, "bind");
    await server.bind(requested);
    const endpoint = server.lastEndpoint!;
    expect((await bound).address).toBe(endpoint);
    if (transport === "tcp") {
      const match = /^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(endpoint);
      expect(match).not.toBeNull();
      expect(Number(match![1])).toBeGreaterThan(0);
    } else {
      expect(endpoint).toBe(requested);
    }
    // The resolved address is one a peer can connect to.
    const handshake = nextEvent(server, "handshake");
    client.connect(endpoint);
    await handshake;
    // Unbinding works with the address as requested, wildcard included.
    await server.unbind(requested);
    await expect(server.unbind(requested)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails with EADDRINUSE and a bind:error event when binding an address twice", async () => {
    const address = bindAddress(transport);
    await server.bind(address);
    const failed = nextEvent(server, "bind:error");
    const error = await rejection(server.bind(transport === "tcp" ? server.lastEndpoint! : address));
    expect(error.code).toBe("EADDRINUSE");
    const event = await failed;
    expect(event.error.code).toBe("EADDRINUSE");
  });

  it("closes the connections of an endpoint on unbind", async () => {
    await server.bind(bindAddress(transport));
    const address = server.lastEndpoint!;
    const handshake = nextEvent(server, "handshake");
    client.connect(address);
    await handshake;

    const clientSawDisconnect = nextEvent(client, "disconnect");
    const unbound = nextEvent(server, "unbind");
    await server.unbind(address);
    expect((await unbound).address).toBe(address);
    expect((await clientSawDisconnect).address).toBe(address);
  });

  it("drops the connection on disconnect() and forgets the endpoint", async () => {
    const scheduler = new VirtualTimeScheduler();
    closeAll(client);
    client = new Push({ scheduler });
    const clientLog = record(client);
    await server.bind(bindAddress(transport));
    const address = server.lastEndpoint!;
    const handshake = nextEvent(server, "handshake");
    client.connect(address);
    await handshake;

    const serverSawDisconnect = nextEvent(server, "disconnect");
    const mark = clientLog.length;
    client.disconnect(address);
    await serverSawDisconnect;
    // No reconnect is announced or even scheduled.
    expect(types(clientLog.slice(mark))).not.toContain("connect:retry");
    expect(scheduler.actions).toHaveLength(0);
    expect(() => client.disconnect(address)).toThrow(expect.objectContaining({ code: "ENOENT" }));

    // The same endpoint can be connected again.
    const again = nextEvent(server, "handshake");
    client.connect(address);
    await again;
  });

  it("refuses to connect twice to the same endpoint", async () => {
    await server.bind(bindAddress(transport));
    client.connect(server.lastEndpoint!);
    expect(() => client.connect(server.lastEndpoint!)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });
});

/** A second socket cannot take a tcp port or inproc name in use (ipc, like libzmq, replaces the file). */
describe.each(["tcp", "inproc"] as const)("binding an address another socket holds, over %s", (transport) => {
  const sockets: Pull[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));

  it("rejects with EADDRINUSE and emits bind:error", async () => {
    const first = new Pull();
    const second = new Pull();
    sockets.push(first, second);
    await first.bind(bindAddress(transport));
    const address = first.lastEndpoint!;
    const failed = nextEvent(second, "bind:error");
    await expect(second.bind(address)).rejects.toMatchObject({ code: "EADDRINUSE" });
    const event = await failed;
    expect(event.address).toBe(address);
    expect(event.error.code).toBe("EADDRINUSE");
    expect(second.lastEndpoint).toBeNull();
  });
});

/**
 * Reconnection timing, in virtual time: each failed attempt is real I/O
 * (connection refused, or no such ipc file), but the waits between attempts
 * run on a VirtualTimeScheduler, so no test sleeps through a backoff.
 */
describe.each(["tcp", "ipc"] as const)("reconnecting over %s", (transport) => {
  let client: Push | undefined;
  let server: Pull | undefined;
  afterEach(() => closeAll(client, server));

  /**
   * Connects and collects `count` retry intervals, checking each is also the
   * delay of the timer actually scheduled. The last retry is left pending.
   */
  async function retries(socket: Push, scheduler: VirtualTimeScheduler, address: string, count: number): Promise<number[]> {
    const intervals: number[] = [];
    let retry = nextEvent(socket, "connect:retry");
    socket.connect(address);
    for (let i = 0; i < count; i++) {
      const event = await retry;
      expect(event.address).toBe(address);
      intervals.push(event.interval);
      const [timer] = scheduler.actions;
      expect(timer!.delay - scheduler.frame).toBe(event.interval);
      if (i === count - 1) break;
      retry = nextEvent(socket, "connect:retry");
      advanceTo(scheduler, timer!.delay);
    }
    return intervals;
  }

  it("reports connect:delay and connect:retry{interval} when nobody listens", async () => {
    const scheduler = new VirtualTimeScheduler();
    client = new Push({ scheduler, reconnectInterval: 123 });
    const address = await freeAddress(transport);
    const delay = nextEvent(client, "connect:delay");
    const retry = nextEvent(client, "connect:retry");
    client.connect(address);
    expect((await delay).address).toBe(address);
    expect((await retry).interval).toBe(123);
  });

  it("keeps reconnectInterval constant when reconnectMaxInterval is 0", async () => {
    const scheduler = new VirtualTimeScheduler();
    client = new Push({ scheduler, reconnectInterval: 100 });
    expect(await retries(client, scheduler, await freeAddress(transport), 4)).toEqual([100, 100, 100, 100]);
  });

  it("doubles the interval up to reconnectMaxInterval", async () => {
    const scheduler = new VirtualTimeScheduler();
    client = new Push({ scheduler, reconnectInterval: 100, reconnectMaxInterval: 800 });
    expect(await retries(client, scheduler, await freeAddress(transport), 6)).toEqual([100, 200, 400, 800, 800, 800]);
  });

  it("starts again from reconnectInterval after a successful connection", async () => {
    const scheduler = new VirtualTimeScheduler();
    client = new Push({ scheduler, reconnectInterval: 100, reconnectMaxInterval: 1000 });
    const address = await freeAddress(transport);
    expect(await retries(client, scheduler, address, 3)).toEqual([100, 200, 400]);

    // The retry after 400 is due; let a server appear first.
    server = new Pull();
    await server.bind(address);
    const connected = nextEvent(client, "handshake");
    advanceTo(scheduler, scheduler.actions[0]!.delay);
    await connected;

    const retry = nextEvent(client, "connect:retry");
    await server.unbind(address);
    expect((await retry).interval).toBe(100);
  });

  it("does not reconnect with reconnectInterval -1", async () => {
    const scheduler = new VirtualTimeScheduler();
    client = new Push({ scheduler, reconnectInterval: -1 });
    const log = record(client);
    const delay = nextEvent(client, "connect:delay");
    client.connect(await freeAddress(transport));
    await delay;
    expect(types(log)).toEqual(["connect:delay"]);
    expect(scheduler.actions).toHaveLength(0);
  });
});

describe("endpoint validation", () => {
  let socket: Pull;
  beforeEach(() => {
    socket = new Pull();
  });
  afterEach(() => closeAll(socket));

  it.each([
    ["no scheme", "127.0.0.1:5555", "EINVAL"],
    ["unknown transport", "udp://127.0.0.1:5555", "EPROTONOSUPPORT"],
    ["tcp without a port", "tcp://127.0.0.1", "EINVAL"],
    ["tcp port out of range", "tcp://127.0.0.1:70000", "EINVAL"],
    ["tcp port not a number", "tcp://127.0.0.1:http", "EINVAL"],
  ])("bind rejects %s with %s", async (_what, address, code) => {
    const failed = nextEvent(socket, "bind:error");
    await expect(socket.bind(address)).rejects.toMatchObject({ code });
    expect((await failed).error.code).toBe(code);
  });

  it.each([
    ["no scheme", "localhost", "EINVAL"],
    ["unknown transport", "pgm://127.0.0.1:5555", "EPROTONOSUPPORT"],
    ["a wildcard port", "tcp://127.0.0.1:*", "EINVAL"],
    ["a wildcard host", "tcp://*:5555", "EINVAL"],
  ])("connect throws on %s with %s", (_what, address, code) => {
    expect(() => socket.connect(address)).toThrow(expect.objectContaining({ code }));
  });

  it("rejects unbind and disconnect of endpoints it does not have with ENOENT", async () => {
    await expect(socket.unbind("tcp://127.0.0.1:5555")).rejects.toMatchObject({ code: "ENOENT" });
    expect(() => socket.disconnect("tcp://127.0.0.1:5555")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
