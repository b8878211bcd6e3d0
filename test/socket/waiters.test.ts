/**
 * The waiting-call queues on their own (src/socket/waiters.ts), with a
 * stand-in routing rule and the virtual clock: call order, timeouts that do
 * not block the calls behind them, stream receivers taking turns with
 * receive() calls, and what closing does.
 */
import type { Message } from "../../src/codec/frame";
import { PrivateerError } from "../../src/errors";
import { ReceiveQueue, SendQueue, type SendOutcome } from "../../src/socket/waiters";
import { virtualClock } from "../helpers/clock";

const msg = (text: string): Message => [Buffer.from(text)];
const texts = (messages: readonly Message[]): string[] => messages.map((m) => m[0]!.toString());

/** A routing rule with `room` places; what it took is in `sent`. */
function sink(room: number) {
  const state = { room, sent: [] as Message[], outcome: undefined as SendOutcome | undefined };
  const trySend = (message: Message): SendOutcome => {
    if (state.outcome !== undefined) return state.outcome;
    if (state.room === 0) return false;
    state.room--;
    state.sent.push(message);
    return true;
  };
  return { state, trySend };
}

describe("SendQueue", () => {
  it("serves waiting sends in call order as room appears, resolving each once it is taken", async () => {
    const clock = virtualClock();
    const { state, trySend } = sink(0);
    const queue = new SendQueue(trySend, clock.scheduler);
    const resolved: string[] = [];
    const calls = ["a", "b", "c"].map((t) => queue.wait(msg(t), -1).then(() => resolved.push(t)));
    expect(queue.idle).toBe(false);
    state.room = 2;
    queue.process();
    await Promise.resolve();
    expect(texts(state.sent)).toEqual(["a", "b"]);
    state.room = 1;
    queue.process();
    await Promise.all(calls);
    expect(resolved).toEqual(["a", "b", "c"]);
    expect(queue.idle).toBe(true);
  });

  it("fails at once with timeout 0, and after `timeout` virtual ms otherwise, without blocking the next call", async () => {
    const clock = virtualClock();
    const { state, trySend } = sink(0);
    const queue = new SendQueue(trySend, clock.scheduler);
    await expect(queue.wait(msg("now"), 0)).rejects.toMatchObject({ code: "EAGAIN", message: "send would block and sendTimeout is 0" });
    const first = queue.wait(msg("first"), 50);
    const second = queue.wait(msg("second"), -1);
    clock.advance(49);
    expect(state.sent).toEqual([]);
    clock.advance(1);
    await expect(first).rejects.toMatchObject({ code: "EAGAIN", message: "send timed out after 50 ms" });
    state.room = 1;
    queue.process();
    await second;
    expect(texts(state.sent)).toEqual(["second"]);
  });

  it("rejects a send with the routing rule's error, and every waiting send with close()'s", async () => {
    const clock = virtualClock();
    const { state, trySend } = sink(0);
    const queue = new SendQueue(trySend, clock.scheduler);
    const refused = queue.wait(msg("x"), -1);
    const behind = queue.wait(msg("y"), -1);
    state.outcome = new PrivateerError("EHOSTUNREACH", "no route");
    queue.process();
    await expect(refused).rejects.toMatchObject({ code: "EHOSTUNREACH" });
    await expect(behind).rejects.toMatchObject({ code: "EHOSTUNREACH" });
    state.outcome = undefined;
    const waiting = queue.wait(msg("z"), 100);
    queue.close(new PrivateerError("EAGAIN", "Socket was closed"));
    await expect(waiting).rejects.toMatchObject({ code: "EAGAIN", message: "Socket was closed" });
    // The closed call's timer is gone: advancing past it changes nothing.
    clock.advance(200);
    expect(queue.idle).toBe(true);
  });
});

describe("ReceiveQueue", () => {
  function source() {
    const inbox: Message[] = [];
    return { inbox, tryReceive: () => inbox.shift() };
  }

  it("lets a stream receiver take turns with receive() calls, in the order they queued", async () => {
    const clock = virtualClock();
    const { inbox, tryReceive } = source();
    const queue = new ReceiveQueue(tryReceive, clock.scheduler);
    const streamed: string[] = [];
    const cancel = queue.stream((m) => streamed.push(m[0]!.toString()), () => undefined);
    const first = queue.wait(-1);
    const second = queue.wait(-1);
    inbox.push(msg("1"), msg("2"), msg("3"), msg("4"));
    queue.process();
    expect(texts([await first, await second])).toEqual(["2", "3"]);
    expect(streamed).toEqual(["1", "4"]);
    cancel();
    inbox.push(msg("5"));
    queue.process();
    expect(streamed).toEqual(["1", "4"]);
    expect(inbox).toHaveLength(1);
  });

  it("times receive() out in virtual time and fails every receiver on close, after which processSoon() serves nobody", async () => {
    const clock = virtualClock();
    const { inbox, tryReceive } = source();
    const queue = new ReceiveQueue(tryReceive, clock.scheduler);
    await expect(queue.wait(0)).rejects.toMatchObject({ code: "EAGAIN", message: "no message and receiveTimeout is 0" });
    const timed = queue.wait(30);
    clock.advance(30);
    await expect(timed).rejects.toMatchObject({ code: "EAGAIN", message: "receive timed out after 30 ms" });
    const failures: Error[] = [];
    queue.stream(() => undefined, (error) => failures.push(error));
    const pending = queue.wait(-1);
    const closing = new PrivateerError("EAGAIN", "Socket was closed");
    queue.close(closing);
    await expect(pending).rejects.toBe(closing);
    expect(failures).toEqual([closing]);
    inbox.push(msg("late"));
    queue.processSoon();
    await new Promise((resolve) => setImmediate(resolve));
    expect(inbox).toHaveLength(1);
  });
});
