/** Memory of this process in bytes, split the way the question "where did it go" needs. */
export interface MemorySample {
  /** Live JS objects (after a full GC when `settle` was asked for). */
  heap: number;
  /** Memory held outside the JS heap by Buffers and native code that told V8 about it. */
  external: number;
  rss: number;
}

/** Present when the peer was started with --expose-gc (the runner always does so). */
const collect = (globalThis as { gc?: () => void }).gc;

/**
 * Takes a sample; with `settle`, first runs full GCs so that garbage waiting
 * to be collected is not counted as memory in use.
 */
export function sampleMemory(settle: boolean): MemorySample {
  if (settle && collect) {
    collect();
    collect();
  }
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.external, rss: usage.rss };
}
