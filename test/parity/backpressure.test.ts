/**
 * Backpressure end to end over real streams: a reader that stops reading
 * makes the writer's queue fill and its send() stop resolving, with a bounded
 * number of messages in flight (both high-water marks plus what the kernel
 * and Node's stream buffers hold); reading again releases everything, in
 * order and without loss.
 */
import { Pull, Push } from "../../src";
import { closeAll, link } from "../helpers/endpoints";
import { nextTurn, sendUntilStalled } from "./support";

const SIZE = 16 * 1024;

function payload(i: number): Buffer {
  const body = Buffer.alloc(SIZE, i % 251);
  body.writeUInt32BE(i, 0);
  return body;
}

describe.each(["tcp", "ipc"] as const)("backpressure over %s", (transport) => {
  let push: Push | undefined;
  let pull: Pull | undefined;
  afterEach(() => closeAll(push, pull));

  it("stops accepting sends when the reader does not read, and resumes in order when it does", async () => {
    push = new Push({ sendHighWaterMark: 10 });
    pull = new Pull({ receiveHighWaterMark: 10 });
    await link(pull, [push], transport);

    const accepted = await sendUntilStalled(push, payload);
    // At least both queues filled; at most what 32 MiB of buffers between
    // them could hold (loopback tcp autotunes up to tcp_rmem/tcp_wmem max,
    // 32 MiB + 4 MiB here, but a reader that is paused keeps its window small).
    expect(accepted).toBeGreaterThanOrEqual(20);
    expect(accepted).toBeLessThan((32 * 1024 * 1024) / SIZE);

    // A send without a timeout now waits rather than fails...
    push.sendTimeout = -1;
    let released = false;
    const waiting = push.send(payload(accepted)).then(() => (released = true));
    for (let turn = 0; turn < 20; turn++) await nextTurn();
    expect(released).toBe(false);

    // ...until the reader catches up. Every message arrives once, in order, intact.
    for (let i = 0; i <= accepted; i++) {
      const [frame] = await pull.receive();
      expect(frame!.length).toBe(SIZE);
      expect(frame!.readUInt32BE(0)).toBe(i);
      expect(frame![SIZE - 1]).toBe(i % 251);
    }
    await waiting;
    expect(released).toBe(true);
  });

  it("keeps a second reader flowing while the first one is stalled (per-peer queues)", async () => {
    push = new Push({ sendHighWaterMark: 10 });
    pull = new Pull({ receiveHighWaterMark: 10 });
    const fast = new Pull();
    try {
      await link(pull, [push], transport);
      const stalled = await sendUntilStalled(push, payload);
      expect(stalled).toBeGreaterThanOrEqual(20);

      // A second peer arrives: the round-robin skips the full pipe and sends it everything.
      await link(fast, [], transport);
      const handshake = new Promise<void>((resolve) => {
        const subscription = push!.events$.subscribe((event) => {
          if (event.type === "handshake" && event.address === fast.lastEndpoint) {
            subscription.unsubscribe();
            resolve();
          }
        });
      });
      push.connect(fast.lastEndpoint!);
      await handshake;
      push.sendTimeout = -1;
      for (let i = 0; i < 50; i++) await push.send(payload(100000 + i));
      for (let i = 0; i < 50; i++) expect((await fast.receive())[0]!.readUInt32BE(0)).toBe(100000 + i);
    } finally {
      closeAll(fast);
    }
  });
});
