/**
 * Port of libzmq tests/test_conflate.cpp: a PULL with `conflate` keeps only
 * the newest message from its peer. libzmq sends 20 messages, sleeps, and
 * expects to receive only the last; here the sender closes (linger -1
 * flushes everything first) and the PULL reports the disconnect only after
 * the last byte, so "everything has arrived" is an event, not a sleep.
 * Conflate on the sending side keeps only the newest unsent message.
 */
import { Pull, Push } from "../../src";
import { closeAll, link, nextEvent, TRANSPORTS } from "../helpers/endpoints";

const COUNT = 20;

function encode(i: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32LE(i, 0);
  return body;
}

describe.each(TRANSPORTS)("test_conflate over %s", (transport) => {
  let push: Push | undefined;
  let pull: Pull | undefined;
  afterEach(() => closeAll(push, pull));

  it("a conflating PULL holds only the last of 20 messages", async () => {
    pull = new Pull({ conflate: true });
    push = new Push();
    await link(pull, [push], transport);
    for (let i = 0; i < COUNT; i++) await push.send(encode(i));

    const allIn = nextEvent(pull, "disconnect");
    push.close();
    await allIn;

    const [frame] = await pull.receive();
    expect(frame!.readInt32LE(0)).toBe(COUNT - 1);
    // Only one was kept.
    pull.receiveTimeout = 0;
    await expect(pull.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("a conflating PUSH sends only the newest of messages queued before it could write", async () => {
    push = new Push({ conflate: true });
    pull = new Pull();
    await link(pull, [push], transport);
    // One synchronous burst: the transport gets no turn to take any of them until it ends.
    const sends = Array.from({ length: COUNT }, (_, i) => push!.send(encode(i)));
    // A conflating socket never waits for room.
    await Promise.all(sends);
    expect((await pull.receive())[0]!.readInt32LE(0)).toBe(COUNT - 1);
    // Nothing else was queued behind it: the next message is the next one sent.
    await push.send(encode(1000));
    expect((await pull.receive())[0]!.readInt32LE(0)).toBe(1000);
  });

  it("keeps delivering after conflating: later messages still arrive, one at a time", async () => {
    pull = new Pull({ conflate: true });
    push = new Push();
    await link(pull, [push], transport);
    for (let round = 0; round < 3; round++) {
      const receiving = pull.receive();
      await push.send(encode(round));
      expect((await receiving)[0]!.readInt32LE(0)).toBe(round);
    }
  });
});
