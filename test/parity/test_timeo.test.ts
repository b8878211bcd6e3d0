/**
 * Port of libzmq tests/test_timeo.cpp: receive() on a socket with no peer
 * fails at once with receiveTimeout 0 (libzmq's ZMQ_DONTWAIT) and after
 * exactly receiveTimeout ms otherwise; libzmq measures the elapsed wall time
 * with a jitter allowance, here the socket's timers run in virtual time so
 * the boundary is exact. A socket with timeouts set still passes messages
 * normally, and a call that succeeds leaves no timer behind.
 */
import { VirtualTimeScheduler } from "rxjs";
import { Dealer } from "../../src";
import { bindAddress, closeAll, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import { advanceTo, nextTurn } from "./support";

describe.each(TRANSPORTS)("test_timeo over %s", (transport) => {
  let frontend: Dealer | undefined;
  let backend: Dealer | undefined;
  afterEach(() => closeAll(frontend, backend));

  it("fails at once with receiveTimeout 0, after exactly receiveTimeout otherwise, then passes messages normally", async () => {
    const scheduler = new VirtualTimeScheduler();
    frontend = new Dealer({ scheduler, receiveTimeout: 0 });
    await frontend.bind(bindAddress(transport));

    // Rejected before any timer could run.
    await expect(frontend.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    expect(scheduler.actions).toHaveLength(0);

    frontend.receiveTimeout = 250;
    let outcome: string | undefined;
    const receiving = frontend.receive().then(
      () => (outcome = "message"),
      (error: { code: string }) => (outcome = error.code),
    );
    advanceTo(scheduler, 249);
    await nextTurn();
    expect(outcome).toBeUndefined();
    advanceTo(scheduler, 250);
    await receiving;
    expect(outcome).toBe("EAGAIN");

    backend = new Dealer({ scheduler, sendTimeout: 250 });
    const connected = nextEvent(frontend, "handshake");
    backend.connect(frontend.lastEndpoint!);
    await connected;
    await backend.send("Hello");
    expect((await frontend.receive()).map(String)).toEqual(["Hello"]);
    // Neither the send nor the receive left a timer waiting to fire.
    expect(scheduler.actions.filter((action) => !action.closed)).toHaveLength(0);
  });

  it("a send with no peer fails with EAGAIN at once with sendTimeout 0, and after sendTimeout otherwise", async () => {
    const scheduler = new VirtualTimeScheduler();
    backend = new Dealer({ scheduler, sendTimeout: 0 });
    await expect(backend.send("nobody")).rejects.toMatchObject({ code: "EAGAIN" });

    backend.sendTimeout = 100;
    let outcome: string | undefined;
    const sending = backend.send("nobody").then(
      () => (outcome = "sent"),
      (error: { code: string }) => (outcome = error.code),
    );
    advanceTo(scheduler, 99);
    await nextTurn();
    expect(outcome).toBeUndefined();
    advanceTo(scheduler, 100);
    await sending;
    expect(outcome).toBe("EAGAIN");
  });
});
