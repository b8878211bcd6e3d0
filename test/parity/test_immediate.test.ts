/**
 * Port of libzmq tests/test_immediate.cpp. Without `immediate`, connect()
 * creates the peer's queue at once, so a PUSH connected to one dead and one
 * live endpoint round-robins half its messages into the dead one's queue
 * (they are delivered if it ever comes up). With `immediate`, only completed
 * connections get messages: everything goes to the live peer, and a broken
 * connection stops taking messages until it is back.
 *
 * libzmq counts what arrives within a 250 ms receive timeout; here the dead
 * endpoint is brought up afterwards and its queue inspected instead.
 */
import { Dealer, Pull, Push, type SocketBase } from "../../src";
import { bindAddress, closeAll, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import { deadAddress, receiveN } from "./support";

describe.each(TRANSPORTS)("test_immediate over %s", (transport) => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));
  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }
  const unusedAddress = (): Promise<string> =>
    transport === "inproc" ? Promise.resolve(bindAddress("inproc")) : deadAddress(transport);

  it("without immediate, half the messages wait in the dead endpoint's queue (test_immediate_1)", async () => {
    const live = track(new Pull());
    await live.bind(bindAddress(transport));
    const dead = await unusedAddress();
    const from = track(new Push());
    from.connect(dead);
    const up = nextEvent(live, "handshake");
    from.connect(live.lastEndpoint!);
    await up;

    for (let i = 0; i < 10; i++) await from.send(`${i}`);
    // Round-robin over both queues, the dead one first (connected first).
    expect((await receiveN(live, 5)).map(([m]) => m)).toEqual(["1", "3", "5", "7", "9"]);

    // The other five were kept for the dead endpoint, and arrive when it comes up.
    const late = track(new Pull());
    await late.bind(dead);
    expect((await receiveN(late, 5)).map(([m]) => m)).toEqual(["0", "2", "4", "6", "8"]);
  });

  it("with immediate, every message goes to the live peer (test_immediate_2)", async () => {
    const live = track(new Pull());
    await live.bind(bindAddress(transport));
    const dead = await unusedAddress();
    const from = track(new Push({ immediate: true }));
    from.connect(dead);
    from.connect(live.lastEndpoint!);
    // No need to wait for the handshake: sends wait for a completed connection.
    for (let i = 0; i < 10; i++) await from.send(`${i}`);
    expect((await receiveN(live, 10)).map(([m]) => m)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);

    // Nothing was queued for the dead endpoint: once it is up, round-robin
    // gives it the next message, with nothing of the first ten before it.
    const late = track(new Pull());
    const joined = nextEvent(from, "handshake");
    await late.bind(dead);
    await joined;
    await from.send("a");
    await from.send("b");
    const first = [(await late.receive())[0]!.toString(), (await live.receive())[0]!.toString()];
    expect(first.sort()).toEqual(["a", "b"]);
  });
});

describe.each(["tcp", "ipc"] as const)("test_immediate over %s, after a connection breaks", (transport) => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));
  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }

  /** A bound backend DEALER and a frontend DEALER connected to it, both ways checked. */
  async function pair(immediate: boolean): Promise<[Dealer, Dealer, string]> {
    const backend = track(new Dealer());
    const frontend = track(new Dealer({ immediate }));
    await backend.bind(bindAddress(transport));
    const endpoint = backend.lastEndpoint!;
    frontend.connect(endpoint);
    await backend.send("Hello");
    expect((await frontend.receive()).map(String)).toEqual(["Hello"]);
    return [backend, frontend, endpoint];
  }

  it("with immediate, refuses to queue while the peer is gone, and sends again once it is back (test_immediate_3)", async () => {
    const [backend, frontend, endpoint] = await pair(true);
    frontend.sendTimeout = 0;
    await frontend.send("Hello");

    const gone = nextEvent(frontend, "disconnect");
    backend.linger = 0;
    backend.close();
    await gone;
    await expect(frontend.send("Hello")).rejects.toMatchObject({ code: "EAGAIN" });

    const again = track(new Dealer());
    await again.bind(endpoint);
    await again.send("Hello");
    expect((await frontend.receive()).map(String)).toEqual(["Hello"]);
    await frontend.send("after the reconnect");
    expect((await again.receive()).map(String)).toEqual(["after the reconnect"]);
  });

  it("without immediate, the same broken connection still queues, and delivers after the reconnect", async () => {
    const [backend, frontend, endpoint] = await pair(false);
    const gone = nextEvent(frontend, "disconnect");
    backend.linger = 0;
    backend.close();
    await gone;
    frontend.sendTimeout = 0;
    await frontend.send("queued while down");

    const again = track(new Dealer());
    await again.bind(endpoint);
    expect((await again.receive()).map(String)).toEqual(["queued while down"]);
  });
});
