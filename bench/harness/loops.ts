import type { BenchReceiver, BenchSender } from "./lib";
import { nowMs, Watchdog, yieldToEventLoop } from "./role";

/**
 * Hot loops read the clock once every this many messages: at a million
 * messages a second, performance.now() per message was 7% of Privateer's
 * inproc profile, a cost of the harness rather than of the library. Rates
 * stay exact because counts and times are both taken at the same checks.
 */
export const CLOCK_STRIDE = 16;
const STRIDE_MASK = CLOCK_STRIDE - 1;

/** What a receiving loop measured: `count` messages in `elapsedMs`, after warm-up. */
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
}

/**
 * Receives through a warm-up and then a measured window. The first
 * message starts the clock, so connection set-up is never measured.
 */
export async function receiveWindow(socket: BenchReceiver, plan: WindowPlan): Promise<WindowResult> {
  const dog = new Watchdog(plan.stallMs, "receiver");
  await socket.receive();
  const warmEnd = nowMs() + plan.warmupMs;
  for (let n = 1; (n & STRIDE_MASK) !== 0 || nowMs() < warmEnd; n++) {
    await socket.receive();
    dog.tick();
  }
  const start = nowMs();
  const end = start + plan.windowMs;
  let count = 0;
  let bytes = 0;
  let now = start;
  while (count < plan.max) {
    const message = await socket.receive();
    for (const frame of message) bytes += frame.length;
    count++;
    dog.tick();
    if ((count & STRIDE_MASK) === 0 && (now = nowMs()) >= end) break;
  }
  if (count >= plan.max) now = nowMs();
  dog.stop();
  return { count, bytes, elapsedMs: now - start };
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
 * flight never changes) through a warm-up and then a timed window, reading
 * the clock once per CLOCK_STRIDE exchanges. Reports how many completed in
 * the window and how long it really took.
 */
export async function exchangeWindow(
  exchange: () => Promise<void>,
  plan: ExchangePlan,
): Promise<{ count: number; elapsedMs: number }> {
  const warmEnd = nowMs() + plan.warmupMs;
  do for (let i = 0; i < CLOCK_STRIDE; i++) await exchange();
  while (nowMs() < warmEnd);
  const start = nowMs();
  const end = start + plan.windowMs;
  let count = 0;
  let now = start;
  while (count < plan.max && now < end) {
    for (let i = 0; i < CLOCK_STRIDE; i++) await exchange();
    count += CLOCK_STRIDE;
    now = nowMs();
  }
  return { count, elapsedMs: now - start };
}
