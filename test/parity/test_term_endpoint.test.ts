/**
 * Port of libzmq tests/test_term_endpoint.cpp: unbind() and disconnect()
 * close exactly the connections of that endpoint. With no connection left a
 * PUSH has nowhere to send (EAGAIN with sendTimeout 0); with another
 * endpoint still connected, everything goes there. Endpoints bound with a
 * wildcard are unbound by the address they resolved to (lastEndpoint).
 *
 * Difference: libzmq refuses to unbind the wildcard string itself (ENOENT);
 * Privateer also accepts the address exactly as given to bind(), which then
 * names the most recent binding made with it.
 */
import { Pull, Push, type SocketBase } from "../../src";
import { bindAddress, closeAll, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import { existsSync } from "node:fs";

describe.each(TRANSPORTS)("test_term_endpoint over %s", (transport) => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));
  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }

  it("after unbind, a PUSH with no other connection cannot send (test_send_after_unbind_fails)", async () => {
    const push = track(new Push());
    const pull = track(new Pull());
    await push.bind(bindAddress(transport));
    const endpoint = push.lastEndpoint!;
    pull.connect(endpoint);
    await push.send("ABC");
    expect((await pull.receive()).map(String)).toEqual(["ABC"]);

    const gone = nextEvent(pull, "disconnect");
    await push.unbind(endpoint);
    await gone;
    push.sendTimeout = 0;
    await expect(push.send("ABC")).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("after disconnect, a PUSH with no other connection cannot send (test_send_after_disconnect_fails)", async () => {
    const pull = track(new Pull());
    const push = track(new Push());
    await pull.bind(bindAddress(transport));
    const endpoint = pull.lastEndpoint!;
    push.connect(endpoint);
    await push.send("ABC");
    expect((await pull.receive()).map(String)).toEqual(["ABC"]);

    const gone = nextEvent(pull, "disconnect");
    push.disconnect(endpoint);
    await gone;
    push.sendTimeout = 0;
    await expect(push.send("ABC")).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("unbinding one of two endpoints leaves the other's connections working", async () => {
    const push = track(new Push());
    const left = track(new Pull());
    const right = track(new Pull());
    await push.bind(bindAddress(transport));
    const a = push.lastEndpoint!;
    await push.bind(bindAddress(transport));
    const b = push.lastEndpoint!;
    const both = [nextEvent(left, "handshake"), nextEvent(right, "handshake")];
    left.connect(a);
    right.connect(b);
    await Promise.all(both);

    const leftGone = nextEvent(left, "disconnect");
    await push.unbind(a);
    await leftGone;
    for (let i = 0; i < 10; i++) await push.send(`${i}`);
    // All ten go to the remaining connection, in order.
    for (let i = 0; i < 10; i++) expect((await right.receive()).map(String)).toEqual([`${i}`]);
    // And nobody can connect to the unbound endpoint any more.
    if (transport === "ipc") expect(existsSync(a.slice("ipc://".length))).toBe(false);
  });

  it("disconnecting one of two endpoints leaves the other working", async () => {
    const push = track(new Push());
    const left = track(new Pull());
    const right = track(new Pull());
    await left.bind(bindAddress(transport));
    await right.bind(bindAddress(transport));
    const both = [nextEvent(left, "handshake"), nextEvent(right, "handshake")];
    push.connect(left.lastEndpoint!);
    push.connect(right.lastEndpoint!);
    await Promise.all(both);

    const leftGone = nextEvent(left, "disconnect");
    push.disconnect(left.lastEndpoint!);
    await leftGone;
    for (let i = 0; i < 10; i++) await push.send(`${i}`);
    for (let i = 0; i < 10; i++) expect((await right.receive()).map(String)).toEqual([`${i}`]);
  });
});

describe.each(["tcp", "ipc"] as const)("test_term_endpoint wildcards over %s", (transport) => {
  const wildcard = transport === "tcp" ? "tcp://127.0.0.1:*" : "ipc://*";
  let push: Push | undefined;
  afterEach(() => closeAll(push));

  it("binds the same wildcard twice to two addresses, and unbinds each by its resolved address (test_unbind_via_last_endpoint)", async () => {
    push = new Push();
    await push.bind(wildcard);
    const first = push.lastEndpoint!;
    await push.bind(wildcard);
    const second = push.lastEndpoint!;
    expect(second).not.toBe(first);
    await push.unbind(first);
    await push.unbind(second);
    await expect(push.unbind(first)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(push.unbind(second)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("unbinding the wildcard string names the most recent binding made with it (libzmq: ENOENT)", async () => {
    push = new Push();
    await push.bind(wildcard);
    const first = push.lastEndpoint!;
    await push.bind(wildcard);
    const unbound = nextEvent(push, "unbind");
    await push.unbind(wildcard);
    expect((await unbound).address).toBe(push.lastEndpoint);
    // The first binding is still there, under its own address.
    await push.unbind(first);
  });
});
