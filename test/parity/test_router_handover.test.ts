/**
 * Port of libzmq tests/test_router_handover.cpp: two DEALERs announce the
 * same routing id "X". With `handover` the newcomer takes the id over (the
 * old connection is closed, as libzmq terminates the old pipe) and
 * messages for "X" reach it; without, the newcomer is ignored and "X" stays
 * with the first.
 *
 * Difference: libzmq keeps the refused connection open and silently ignores
 * it; Privateer refuses it during the handshake (ERROR command, then close),
 * so the newcomer's messages are never read either way.
 */
import { Dealer, Router } from "../../src";
import { closeAll, link, nextEvent, TRANSPORTS } from "../helpers/endpoints";

describe.each(TRANSPORTS)("test_router_handover over %s", (transport) => {
  let router: Router | undefined;
  let one: Dealer | undefined;
  let two: Dealer | undefined;
  afterEach(() => closeAll(router, one, two));

  it("with handover, the second DEALER named X takes X over", async () => {
    router = new Router({ handover: true });
    // The ousted dealer would otherwise reconnect and take X back, and so on.
    one = new Dealer({ routingId: "X", reconnectInterval: -1 });
    two = new Dealer({ routingId: "X" });
    await link(router, [one], transport);
    await one.send("Hello");
    expect((await router.receive()).map(String)).toEqual(["X", "Hello"]);

    const ousted = nextEvent(one, "disconnect");
    two.connect(router.lastEndpoint!);
    await two.send("Hello");
    expect((await router.receive()).map(String)).toEqual(["X", "Hello"]);
    await ousted;

    await router.send(["X", "for the new X"]);
    expect((await two.receive()).map(String)).toEqual(["for the new X"]);
    one.receiveTimeout = 0;
    await expect(one.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("without handover, the second DEALER named X is ignored and X stays with the first", async () => {
    router = new Router();
    one = new Dealer({ routingId: "X" });
    two = new Dealer({ routingId: "X" });
    await link(router, [one], transport);
    await one.send("Hello");
    expect((await router.receive()).map(String)).toEqual(["X", "Hello"]);

    const refused = nextEvent(router, "handshake:error");
    two.connect(router.lastEndpoint!);
    // Over tcp and ipc this is queued on the impostor's side; over inproc the
    // refused connection leaves it no pipe at all, so the send just waits.
    two.send("from the impostor").catch(() => undefined);
    expect((await refused).error.reason).toBe("duplicate-routing-id");

    // The impostor's message never arrives: the next one the router sees is the first dealer's.
    await one.send("still me");
    expect((await router.receive()).map(String)).toEqual(["X", "still me"]);

    await router.send(["X", "for the first X"]);
    expect((await one.receive()).map(String)).toEqual(["for the first X"]);
    two.receiveTimeout = 0;
    await expect(two.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });
});
