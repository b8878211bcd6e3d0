/**
 * Port of libzmq tests/test_router_mandatory.cpp (test_basic): a ROUTER
 * silently drops messages for unknown routing ids by default, and with
 * `mandatory` refuses them with EHOSTUNREACH; the option can be switched on
 * at any time, and once the peer is known the same send succeeds. The draft
 * zmq_socket_get_peer_state() cases are not ported (no such API here).
 */
import { Dealer, Router } from "../../src";
import { closeAll, link, TRANSPORTS } from "../helpers/endpoints";

describe.each(TRANSPORTS)("test_router_mandatory over %s", (transport) => {
  let router: Router | undefined;
  let dealer: Dealer | undefined;
  afterEach(() => closeAll(router, dealer));

  it("drops for an unknown peer by default, refuses with EHOSTUNREACH once mandatory, and delivers once the peer is known", async () => {
    router = new Router();
    dealer = new Dealer({ routingId: "X" });
    // Bound but nobody connected yet.
    await link(router, [], transport);
    await expect(router.send(["UNKNOWN", "DATA"])).resolves.toBeUndefined();

    router.mandatory = true;
    await expect(router.send(["UNKNOWN", "DATA"])).rejects.toMatchObject({ code: "EHOSTUNREACH" });
    // "X" is not known yet either: refused, and (below) not queued for later.
    await expect(router.send(["X", "too early"])).rejects.toMatchObject({ code: "EHOSTUNREACH" });

    dealer.connect(router.lastEndpoint!);
    await dealer.send("Hello");
    expect((await router.receive()).map(String)).toEqual(["X", "Hello"]);

    await router.send(["X", "Hello"]);
    // The first message the dealer ever gets: the refused one was not kept.
    expect((await dealer.receive()).map(String)).toEqual(["Hello"]);
  });

  it("with mandatory off again, goes back to dropping silently", async () => {
    router = new Router({ mandatory: true });
    await link(router, [], transport);
    await expect(router.send(["nobody", "x"])).rejects.toMatchObject({ code: "EHOSTUNREACH" });
    router.mandatory = false;
    await expect(router.send(["nobody", "x"])).resolves.toBeUndefined();
  });
});
