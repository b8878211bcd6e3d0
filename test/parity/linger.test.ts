/**
 * linger, as libzmq defines ZMQ_LINGER: 0 drops what is queued at close(),
 * -1 keeps delivering until everything is out, a positive value keeps
 * trying for that many ms and then gives up. The linger clock is the
 * socket's scheduler, so the positive case runs in virtual time and checks
 * the exact moment the socket gives up. A message given up on never turns up
 * later: a peer that appears afterwards gets only what a new sender sends.
 * (test/socket/close.test.ts covers the basic cases in real time.)
 */
import { VirtualTimeScheduler } from "rxjs";
import { Pull, Push, type SocketBase } from "../../src";
import { bindAddress, closeAll, nextEvent, TRANSPORTS } from "../helpers/endpoints";
import { advanceTo, deadAddress, nextTurn, receiveN } from "./support";

describe.each(TRANSPORTS)("linger over %s", (transport) => {
  const sockets: SocketBase[] = [];
  afterEach(() => closeAll(...sockets.splice(0)));
  function track<T extends SocketBase>(socket: T): T {
    sockets.push(socket);
    return socket;
  }
  const unusedAddress = (): Promise<string> =>
    transport === "inproc" ? Promise.resolve(bindAddress("inproc")) : deadAddress(transport);

  /** Binds a PULL at `address` and shows the first message it gets is a fresh sender's marker. */
  async function firstMessageAt(address: string): Promise<string> {
    const pull = track(new Pull());
    await pull.bind(address);
    const fresh = track(new Push());
    fresh.connect(address);
    await fresh.send("marker");
    return (await pull.receive())[0]!.toString();
  }

  it("a positive linger gives up exactly when it runs out, and what it gave up on never arrives", async () => {
    const scheduler = new VirtualTimeScheduler();
    const push = track(new Push({ scheduler, linger: 200 }));
    const address = await unusedAddress();
    push.connect(address);
    await push.send("given up on");
    let gaveUp = false;
    const closed = nextEvent(push, "close").then(() => (gaveUp = true));
    push.close();

    advanceTo(scheduler, 199);
    await nextTurn();
    expect(gaveUp).toBe(false);
    // The linger is checked every 5 ms of the socket's clock: by 205 it has given up.
    advanceTo(scheduler, 205);
    await closed;
    expect(gaveUp).toBe(true);

    expect(await firstMessageAt(address)).toBe("marker");
  });

  it("linger 0 drops the queue at once, and the dropped messages never arrive", async () => {
    const push = track(new Push({ linger: 0 }));
    const address = await unusedAddress();
    push.connect(address);
    for (let i = 0; i < 5; i++) await push.send(`dropped ${i}`);
    const closed = nextEvent(push, "close");
    push.close();
    await closed;
    expect(await firstMessageAt(address)).toBe("marker");
  });

  it("a peer that appears within the linger window gets everything, and the socket closes without waiting out the linger", async () => {
    const scheduler = new VirtualTimeScheduler();
    const push = track(new Push({ scheduler, linger: 60_000, reconnectInterval: 100 }));
    const address = await unusedAddress();
    // Over tcp and ipc the first attempt fails; the retry then waits for the virtual clock.
    const retry = transport === "inproc" ? undefined : nextEvent(push, "connect:retry");
    push.connect(address);
    expect((await retry)?.interval ?? 100).toBe(100);
    for (let i = 0; i < 5; i++) await push.send(`${i}`);
    let closed = false;
    push.events$.subscribe((event) => {
      if (event.type === "close") closed = true;
    });
    push.close();

    const pull = track(new Pull());
    await pull.bind(address);
    // Inproc joined on bind; tcp and ipc connect when the retry timer fires.
    advanceTo(scheduler, 100);
    expect((await receiveN(pull, 5)).map(([m]) => m)).toEqual(["0", "1", "2", "3", "4"]);

    // The linger poll notices on its next tick that everything is out.
    for (let t = 105; !closed && t <= 1000; t += 5) {
      advanceTo(scheduler, t);
      await nextTurn();
    }
    expect(closed).toBe(true);
    expect(scheduler.frame).toBeLessThan(1000);
  });
});
