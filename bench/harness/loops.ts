import type { BenchReceiver, BenchSender } from "./lib";
import { nowMs, Watchdog, yieldToEventLoop } from "./role";
import { percentile } from "./stats";

/**
 * Hot loops read the clock once every this many messages: at a million
 * messages a second, performance.now() per message was 7% of Privateer's
 * inproc profile, a cost of the harness rather than of the library. Rates
 * stay exact because counts and times are both taken at the same checks.
 */
export const CLOCK_STRIDE = 16;
const STRIDE_MASK = CLOCK_STRIDE - 1;

/**
 * A message whose size is not the one the scenario sent: the run measured
 * something else (a truncated or merged message, the wrong sender), so its
 * figure must not be reported.
 */
export class WrongSizeError extends Error {
  readonly code = "BENCH_WRONG_SIZE";
  constructor(
    readonly who: string,
    readonly received: number,
    readonly expected: number,
  ) {
    super(`${who}: received a message of ${received} bytes, expected ${expected}`);
    this.name = "WrongSizeError";
  }
}

/** Total bytes of a message, all frames together; throws {@link WrongSizeError} unless it is `expected`. */
export function checkedSize(message: readonly Buffer[], expected: number, who: string): number {
  let size = 0;
  for (const frame of message) size += frame.length;
  if (size !== expected) throw new WrongSizeError(who, size, expected);
  return size;
}

/** What a receiving loop measured: `count` messages and `bytes` received in `elapsedMs`, after warm-up. */
export interface WindowResult {
  count: number;
  bytes: number;
  elapsedMs: number;
}

export interface WindowPlan {
  /** Messages received during this long after the first one are not counted (JIT, socket buffers settling). */
  warmupMs: number;
  /** Length of the measured window. */
  windowMs: number;
  /** Bound on the measured messages, whatever the time. */
  max: number;
  /** No message for this long fails the run (see {@link Watchdog}). */
  stallMs: number;
  /** The size every message must have (all frames together); any other fails the run. */
  expectBytes: number;
}

/**
 * Receives through a warm-up and then a measured window. The first
 * message starts the clock, so connection set-up is never measured. Every
 * message, warm-up included, is checked against `plan.expectBytes`, and
 * `bytes` is what arrived, not `count` times the nominal size.
 */
export async function receiveWindow(socket: BenchReceiver, plan: WindowPlan): Promise<WindowResult> {
  const who = "receiver";
  const expected = plan.expectBytes;
  const dog = new Watchdog(plan.stallMs, who);
  // The watchdog ends the process when it fires: a size error must stop it, or it would fire later in a test.
  try {
    checkedSize(await socket.receive(), expected, who);
    const warmEnd = nowMs() + plan.warmupMs;
    for (let n = 1; (n & STRIDE_MASK) !== 0 || nowMs() < warmEnd; n++) {
      checkedSize(await socket.receive(), expected, who);
      dog.tick();
    }
    const start = nowMs();
    const end = start + plan.windowMs;
    let count = 0;
    let bytes = 0;
    let now = start;
    while (count < plan.max) {
      bytes += checkedSize(await socket.receive(), expected, who);
      count++;
      dog.tick();
      if ((count & STRIDE_MASK) === 0 && (now = nowMs()) >= end) break;
    }
    if (count >= plan.max) now = nowMs();
    return { count, bytes, elapsedMs: now - start };
  } finally {
    dog.stop();
  }
}

export interface SendPlan {
  limitMs: number;
  max: number;
  /** Yield to the event loop after this many sends (0: never); see pub-sub-fanout for why. */
  yieldEvery?: number;
  /** Checked every send: lets a co-located receiver end the loop. */
  stop?: () => boolean;
}

/** Sends the same message until the count, the time limit or `stop` says enough; returns how many went. */
export async function sendUntil(socket: BenchSender, message: Buffer | Buffer[], plan: SendPlan): Promise<number> {
  const deadline = nowMs() + plan.limitMs;
  const yieldEvery = plan.yieldEvery ?? 0;
  let sent = 0;
  while (sent < plan.max && !plan.stop?.()) {
    await socket.send(message);
    sent++;
    if (yieldEvery > 0 && sent % yieldEvery === 0) await yieldToEventLoop();
    if ((sent & STRIDE_MASK) === 0 && nowMs() >= deadline) break;
  }
  return sent;
}

export function payload(size: number): Buffer {
  // Non-zero bytes so nothing along the way can take a shortcut on zeroed memory.
  return Buffer.alloc(size, 0x5a);
}

/** Plan of a closed-loop measurement: warm up, then count exchanges for a window. */
export interface ExchangePlan {
  warmupMs: number;
  windowMs: number;
  max: number;
}

/**
 * Runs `exchange` (one reply received, one request sent: the number in
 * flight never changes; it resolves with the bytes of the reply) through a
 * warm-up and then a timed window, reading the clock once per CLOCK_STRIDE
 * exchanges. Reports how many completed in the window, the bytes of their
 * replies, and how long it really took.
 */
export async function exchangeWindow(exchange: () => Promise<number>, plan: ExchangePlan): Promise<WindowResult> {
  const warmEnd = nowMs() + plan.warmupMs;
  do for (let i = 0; i < CLOCK_STRIDE; i++) await exchange();
  while (nowMs() < warmEnd);
  const start = nowMs();
  const end = start + plan.windowMs;
  let count = 0;
  let bytes = 0;
  let now = start;
  while (count < plan.max && now < end) {
    for (let i = 0; i < CLOCK_STRIDE; i++) bytes += await exchange();
    count += CLOCK_STRIDE;
    now = nowMs();
  }
  return { count, bytes, elapsedMs: now - start };
}

/** What {@link timeRoundTrips} reports: the figures a latency scenario reads from a REQ role's "result". */
export interface RoundTripResult {
  readonly [key: string]: number;
  readonly count: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/** How long {@link timeRoundTrips} warms up and measures, from a role's parameters. */
export interface RoundTripPlan {
  readonly size: number;
  /** Every reply must be this many bytes, or the run fails. */
  readonly expect: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  /** Most samples kept (the sample buffer is preallocated). */
  readonly max: number;
  readonly dog: Watchdog;
  /** Names the role in a wrong-size error. */
  readonly who: string;
}

/**
 * Times REQ/REP round trips one at a time on a connected REQ socket: a
 * warm-up first (which also keeps a security handshake out of the samples),
 * then a window of samples, each the time from one send to its reply.
 */
export async function timeRoundTrips(req: BenchSender & BenchReceiver, plan: RoundTripPlan): Promise<RoundTripResult> {
  const body = payload(plan.size);
  const warmEnd = nowMs() + plan.warmupMs;
  do {
    await req.send(body);
    checkedSize(await req.receive(), plan.expect, plan.who);
    plan.dog.tick();
  } while (nowMs() < warmEnd);
  const samples = new Float64Array(plan.max);
  const start = nowMs();
  const end = start + plan.windowMs;
  let count = 0;
  let bytes = 0;
  let now = start;
  while (count < plan.max && now < end) {
    await req.send(body);
    const reply = await req.receive();
    const after = nowMs();
    bytes += checkedSize(reply, plan.expect, plan.who);
    samples[count++] = after - now;
    now = after;
    plan.dog.tick();
  }
  const taken = Array.from(samples.subarray(0, count));
  return { count, bytes, elapsedMs: now - start, p50Us: percentile(taken, 0.5) * 1000, p99Us: percentile(taken, 0.99) * 1000 };
}
