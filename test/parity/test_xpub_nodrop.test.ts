/**
 * Port of libzmq tests/test_xpub_nodrop.cpp: an XPUB with noDrop never
 * loses a message to a full subscriber. Up to the mark, blocking sends all
 * go through; with sendTimeout 0 the first send that finds no room fails
 * with EAGAIN, and the subscriber then receives exactly what was accepted.
 */
import { Subscriber, XPublisher } from "../../src";
import { closeAll, link, TRANSPORTS } from "../helpers/endpoints";
import { receiveN, sendUntilRefused, sendUntilStalled } from "./support";

const HWM = 200;

describe.each(TRANSPORTS)("test_xpub_nodrop over %s", (transport) => {
  let pub: XPublisher | undefined;
  let sub: Subscriber | undefined;
  afterEach(() => closeAll(pub, sub));

  async function subscribed(): Promise<[XPublisher, Subscriber]> {
    pub = new XPublisher({ sendHighWaterMark: HWM, noDrop: true });
    sub = new Subscriber({ receiveHighWaterMark: HWM });
    await link(pub, [sub], transport);
    sub.subscribe("");
    // Wait for the subscription, or some of what follows would go to nobody.
    expect(await pub.receive()).toEqual([Buffer.from([1])]);
    return [pub, sub];
  }

  it("delivers every one of hwm - 1 blocking sends", async () => {
    const [p, s] = await subscribed();
    for (let i = 0; i < HWM - 1; i++) await p.send(`${i}`);
    await p.send("end");
    const got = await receiveN(s, HWM);
    expect(got.map(([m]) => m)).toEqual([...Array.from({ length: HWM - 1 }, (_, i) => `${i}`), "end"]);
  });

  it("with sendTimeout 0, fails with EAGAIN once full, and the subscriber gets exactly what was accepted", async () => {
    const [p, s] = await subscribed();
    const accepted =
      transport === "inproc"
        ? await sendUntilRefused(p, (i) => `${i}`)
        : // Over tcp and ipc the kernel takes some; wait until nothing more moves.
          await sendUntilStalled(p, (i) => `${i}`.padEnd(1024, "."));
    if (transport === "inproc") expect(accepted).toBe(2 * HWM);
    else expect(accepted).toBeGreaterThanOrEqual(2 * HWM);
    await expect(p.send("refused")).rejects.toMatchObject({ code: "EAGAIN" });

    // The marker can only be queued once reading has made room.
    p.sendTimeout = -1;
    const end = p.send("end");
    const got = await receiveN(s, accepted + 1);
    await end;
    expect(got.map(([m]) => m.replace(/\.+$/, ""))).toEqual([...Array.from({ length: accepted }, (_, i) => `${i}`), "end"]);
  });
});
