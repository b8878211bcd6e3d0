import type { BenchReceiver } from "../../../bench/harness/lib";
import { checkedSize, exchangeWindow, receiveWindow, WrongSizeError, type WindowPlan } from "../../../bench/harness/loops";
import { receivedRate } from "../../../bench/harness/checks";

/** A receiver that hands out `sizes` in turn (the last one forever after). */
function receiver(sizes: readonly number[][]): BenchReceiver {
  let i = 0;
  return {
    bind: async () => undefined,
    connect: () => undefined,
    close: () => undefined,
    lastEndpoint: null,
    receive: async () => sizes[Math.min(i++, sizes.length - 1)]!.map((n) => Buffer.alloc(n)),
  };
}

// No warm-up beyond the first stride, an endless window: `max` ends the loop, so counts are exact.
const plan: WindowPlan = { warmupMs: 0, windowMs: 60_000, max: 64, stallMs: 60_000, expectBytes: 16 };

describe("receiveWindow", () => {
  it("counts the bytes it received, all frames together", async () => {
    const result = await receiveWindow(receiver([[10, 6]]), plan);
    expect(result.count).toBe(64);
    expect(result.bytes).toBe(64 * 16);
  });

  it.each([
    ["the first message", 0],
    ["a warm-up message", 5],
    ["a message in the window", 40],
  ])("fails on a message of the wrong size: %s", async (_where, at) => {
    const sizes = Array.from({ length: at + 1 }, (_, i) => [i === at ? 17 : 16]);
    sizes.push([16]);
    const error = await receiveWindow(receiver(sizes), plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongSizeError);
    expect(error).toMatchObject({ code: "BENCH_WRONG_SIZE", received: 17, expected: 16 });
  });

  it("stops its watchdog when it fails, so the process is not ended later", async () => {
    jest.useFakeTimers();
    const exit = jest.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    try {
      await expect(receiveWindow(receiver([[15]]), { ...plan, stallMs: 1000 })).rejects.toThrow(WrongSizeError);
      jest.advanceTimersByTime(10_000);
      expect(exit).not.toHaveBeenCalled();
    } finally {
      exit.mockRestore();
      jest.useRealTimers();
    }
  });
});

describe("checkedSize", () => {
  it("returns the size of a message of the expected size and throws otherwise", () => {
    expect(checkedSize([Buffer.alloc(3), Buffer.alloc(13)], 16, "x")).toBe(16);
    expect(() => checkedSize([Buffer.alloc(16), Buffer.alloc(0)], 16, "x")).not.toThrow();
    expect(() => checkedSize([Buffer.alloc(16), Buffer.alloc(1)], 16, "dealer-flight")).toThrow(
      "dealer-flight: received a message of 17 bytes, expected 16",
    );
  });
});

describe("exchangeWindow", () => {
  it("adds up the reply sizes the exchange reports", async () => {
    const result = await exchangeWindow(async () => 16, { warmupMs: 0, windowMs: 60_000, max: 32 });
    expect(result.count).toBe(32);
    expect(result.bytes).toBe(32 * 16);
  });
});

describe("receivedRate (the orchestrator's side)", () => {
  const line = (count: number, bytes: number, elapsedMs = 500): Record<string, number | string> => ({ event: "result", count, bytes, elapsedMs });

  it("computes messages and MiB per second from the bytes received", () => {
    expect(receivedRate(line(1000, 1000 * 1024), 1024)).toEqual({ perSec: 2000, mibPerSec: 2000 / 1024 });
  });

  it("rejects bytes that are not count times the size, no messages, no window, and a line without bytes", () => {
    expect(() => receivedRate(line(1000, 1000 * 1024 - 1), 1024)).toThrow("the receiver got 1023999 bytes in 1000 messages, expected 1000 x 1024");
    expect(() => receivedRate(line(0, 0), 16)).toThrow("the receiver counted no message in its window");
    expect(() => receivedRate(line(10, 160, 0), 16)).toThrow("the receiver's window lasted 0 ms");
    expect(() => receivedRate({ event: "result", count: 10, elapsedMs: 5 }, 16)).toThrow('lacks numeric field "bytes"');
  });
});
