import { VirtualTimeScheduler } from "rxjs";
import { Pull, Push } from "../../src";
import { advanceTo } from "../helpers/clock";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { isPending, rejection } from "./support";

/**
 * Concurrent calls are queued in call order and never refused as busy
 * (unlike zeromq.js's EBUSY).
 */
describe.each(TRANSPORTS)("concurrent calls over %s", (transport) => {
  let push: Push;
  let pull: Pull;

  beforeEach(() => {
    push = new Push();
    pull = new Pull();
  });
  afterEach(() => closeAll(push, pull));

  it("serves concurrent receive() calls in call order", async () => {
    await link(pull, [push], transport);
    const calls = Array.from({ length: 5 }, () => pull.receive());
    expect(await isPending(calls[0]!)).toBe(true);
    for (let i = 0; i < 5; i++) await push.send(String(i));
    const got = (await Promise.all(calls)).map((message) => text(message)[0]);
    expect(got).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("completes concurrent send() calls in call order once a peer has room", async () => {
    await push.bind(bindAddress(transport));
    const completed: number[] = [];
    const calls = Array.from({ length: 20 }, (_, i) => push.send(String(i)).then(() => completed.push(i)));
    expect(await isPending(calls[0]!)).toBe(true);
    const handshake = nextEvent(push, "handshake");
    pull.connect(push.lastEndpoint!);
    await handshake;
    await Promise.all(calls);
    expect(completed).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 0; i < 20; i++) expect(text(await pull.receive())).toEqual([String(i)]);
  });

  it("keeps the order of sends made while earlier ones wait, across a full queue", async () => {
    push.sendHighWaterMark = 2;
    pull.receiveHighWaterMark = 2;
    await link(pull, [push], transport);
    // Far more than the queues hold: later calls wait behind earlier ones.
    const calls = Array.from({ length: 300 }, (_, i) => push.send(["n", String(i)]));
    for (let i = 0; i < 300; i++) expect(text(await pull.receive())).toEqual(["n", String(i)]);
    await Promise.all(calls);
  });

  it("lets a timed-out receive() go without taking a message from the calls behind it", async () => {
    const scheduler = new VirtualTimeScheduler();
    closeAll(pull);
    pull = new Pull({ scheduler, receiveTimeout: 100 });
    await link(pull, [push], transport);
    const early = pull.receive();
    advanceTo(scheduler, 50);
    const late = pull.receive();
    advanceTo(scheduler, 100);
    expect((await rejection(early)).code).toBe("EAGAIN");
    await push.send("for the later call");
    expect(text(await late)).toEqual(["for the later call"]);
  });

  it("serves receive() and an async iterator side by side without losing or duplicating", async () => {
    await link(pull, [push], transport);
    const iterator = pull[Symbol.asyncIterator]();
    const a = pull.receive();
    const b = iterator.next();
    const c = pull.receive();
    for (const m of ["x", "y", "z"]) await push.send(m);
    expect(text(await a)).toEqual(["x"]);
    const second = await b;
    expect(second.done).toBe(false);
    expect(text(second.value!)).toEqual(["y"]);
    expect(text(await c)).toEqual(["z"]);
  });
});
