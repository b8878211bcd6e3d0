/**
 * Port of libzmq tests/test_reconnect_ivl.cpp, over tcp and ipc (inproc has
 * no reconnection). With reconnectInterval -1 a dropped connection stays
 * dropped, even once the peer is back, until the application connects again;
 * with the default a connection comes back by itself, and what was sent while
 * it was down is delivered. Reconnect timers run on the socket's scheduler,
 * so these tests drive them in virtual time: "no reconnect" is proved by no
 * timer existing, not by waiting.
 *
 * Difference: libzmq lets the application call connect() again on the same
 * endpoint; Privateer refuses a second connect() to an endpoint it still
 * holds (EINVAL), so it is disconnect() then connect().
 */
import { VirtualTimeScheduler } from "rxjs";
import { Pair, type SocketEvent } from "../../src";
import { bindAddress, closeAll, nextEvent } from "../helpers/endpoints";
import { advanceTo, nextTurn } from "./support";

/** libzmq's bounce(): a message each way. */
async function bounce(server: Pair, client: Pair): Promise<void> {
  await client.send(["ping", "from client"]);
  expect((await server.receive()).map(String)).toEqual(["ping", "from client"]);
  await server.send(["pong", "from server"]);
  expect((await client.receive()).map(String)).toEqual(["pong", "from server"]);
}

describe.each(["tcp", "ipc"] as const)("test_reconnect_ivl over %s", (transport) => {
  let server: Pair | undefined;
  let client: Pair | undefined;
  afterEach(() => closeAll(server, client));

  it("with reconnectInterval -1, stays disconnected after the peer unbinds and rebinds, until connected again", async () => {
    const scheduler = new VirtualTimeScheduler();
    server = new Pair();
    client = new Pair({ reconnectInterval: -1, scheduler });
    await server.bind(bindAddress(transport));
    const endpoint = server.lastEndpoint!;
    const seen: SocketEvent["type"][] = [];
    client.events$.subscribe((event) => seen.push(event.type));
    const up = nextEvent(server, "handshake");
    client.connect(endpoint);
    await up;
    await bounce(server, client);

    const down = nextEvent(client, "disconnect");
    await server.unbind(endpoint);
    await down;
    await server.bind(endpoint);
    // No retry was announced and no timer exists that could ever reconnect.
    expect(seen).not.toContain("connect:retry");
    expect(scheduler.actions).toHaveLength(0);
    advanceTo(scheduler, 1_000_000);
    await nextTurn();
    expect(seen.filter((t) => t === "handshake")).toHaveLength(1);

    // A message sent now waits in the client's queue for a connection that never comes back by itself.
    const queued = client.send("sent while down");
    expect(() => client!.connect(endpoint)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    const again = nextEvent(server, "handshake");
    client.disconnect(endpoint);
    client.connect(endpoint);
    await again;
    await queued;
    // disconnect() discarded the old queue: the first message through is the bounce.
    await bounce(server, client);
  });

  it("with the default interval, reconnects once the peer is back and delivers what was sent meanwhile", async () => {
    const scheduler = new VirtualTimeScheduler();
    server = new Pair();
    client = new Pair({ scheduler });
    await server.bind(bindAddress(transport));
    const endpoint = server.lastEndpoint!;
    const up = nextEvent(server, "handshake");
    client.connect(endpoint);
    await up;
    await bounce(server, client);

    const retry = nextEvent(client, "connect:retry");
    await server.unbind(endpoint);
    expect((await retry).interval).toBe(100);
    await client.send("sent while down");

    await server.bind(endpoint);
    const back = nextEvent(server, "handshake");
    advanceTo(scheduler, scheduler.frame + 100);
    await back;
    expect((await server.receive()).map(String)).toEqual(["sent while down"]);
    await bounce(server, client);
  });

  it("backs off after a lost connection: intervals double from reconnectInterval and stop at reconnectMaxInterval", async () => {
    const scheduler = new VirtualTimeScheduler();
    server = new Pair();
    client = new Pair({ scheduler, reconnectInterval: 100, reconnectMaxInterval: 500 });
    await server.bind(bindAddress(transport));
    const endpoint = server.lastEndpoint!;
    const up = nextEvent(server, "handshake");
    client.connect(endpoint);
    await up;

    let retry = nextEvent(client, "connect:retry");
    await server.unbind(endpoint);
    const intervals: number[] = [];
    for (let i = 0; i < 6; i++) {
      const event = await retry;
      intervals.push(event.interval);
      // The announced interval is the delay of the one timer actually set.
      expect(scheduler.actions).toHaveLength(1);
      expect(scheduler.actions[0]!.delay - scheduler.frame).toBe(event.interval);
      retry = nextEvent(client, "connect:retry");
      advanceTo(scheduler, scheduler.actions[0]!.delay);
    }
    // 500 is not a doubling of 100: the cap is exact, not the next power of two.
    expect(intervals).toEqual([100, 200, 400, 500, 500, 500]);
    await retry;
  });
});
