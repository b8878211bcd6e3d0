import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * CPU time of a process read from outside, from /proc/<pid>/stat: user +
 * system time of all its threads (a pyzmq broker's libzmq I/O thread, a
 * Go server's goroutine threads and Node's helper threads alike), so every
 * broker in a comparison is measured the same way whatever it is written in.
 * The unit of /proc is the clock tick (10 ms where CLK_TCK is 100), so
 * windows must be long enough to hold many ticks.
 */
export interface CpuSample {
  /** performance.now() when the sample was taken. */
  readonly atMs: number;
  /** User + system CPU time consumed so far, all threads. */
  readonly cpuMs: number;
  /**
   * Time the main thread (the event loop, the Python interpreter's thread)
   * has spent runnable but waiting for a CPU, from /proc/<pid>/schedstat;
   * NaN where the kernel does not keep it. On a machine shared with other
   * work this is what tells a starved run from a slow program.
   */
  readonly waitMs: number;
}

let ticksPerSec: number | undefined;

/** Clock ticks per second as `getconf CLK_TCK` says (100 on every Linux we run on). */
export function clockTicks(): number {
  if (ticksPerSec === undefined) {
    try {
      ticksPerSec = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      ticksPerSec = Number.NaN;
    }
    if (!(ticksPerSec > 0)) ticksPerSec = 100;
  }
  return ticksPerSec;
}

/**
 * User + system CPU ms from the text of /proc/<pid>/stat. The second field
 * (the command name, in parentheses) may itself contain spaces and
 * parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string, ticks: number): number {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // After ")": field 3 (state) onwards; utime is field 14 and stime field 15 of proc(5).
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat: ${text.slice(0, 120)}`);
  return ((utime + stime) * 1000) / ticks;
}

/** The CPU time a live process has used so far; throws when it is gone (its figure would be meaningless). */
export function sampleCpu(pid: number): CpuSample {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  let waitMs = Number.NaN;
  try {
    waitMs = parseSchedstat(readFileSync(`/proc/${pid}/schedstat`, "utf8"));
  } catch {
    // Kernels without schedstats: the figure is absent, not zero.
  }
  return { atMs: performance.now(), cpuMs: parseProcStat(text, clockTicks()), waitMs };
}

/** The run-queue wait in ms from /proc/<pid>/schedstat: "<ns on cpu> <ns waiting> <timeslices>". */
export function parseSchedstat(text: string): number {
  const waited = Number(text.trim().split(/\s+/)[1]);
  if (!Number.isFinite(waited)) throw new Error(`not a /proc/<pid>/schedstat line: ${text.slice(0, 80)}`);
  return waited / 1e6;
}

/**
 * What a process did between two samples: CPU ms used, the cores it kept
 * busy on average, and the share of the time its main thread waited for a CPU.
 */
export function cpuBetween(
  before: CpuSample,
  after: CpuSample,
): { cpuMs: number; wallMs: number; load: number; waitShare: number } {
  const cpuMs = after.cpuMs - before.cpuMs;
  const wallMs = after.atMs - before.atMs;
  if (!(wallMs > 0)) throw new Error(`CPU samples ${wallMs} ms apart`);
  return { cpuMs, wallMs, load: cpuMs / wallMs, waitShare: (after.waitMs - before.waitMs) / wallMs };
}

/**
 * µs of CPU per request: CPU ms used over a sampling interval divided by the
 * requests served in it, estimated as the client's measured rate times the
 * interval's length (the client's window and the sampling interval are a
 * pipe's latency apart, not the same instants).
 */
export function cpuUsPerRequest(cpuMs: number, wallMs: number, perSec: number): number {
  const requests = (perSec * wallMs) / 1000;
  if (!(requests > 0)) throw new Error(`no request served over ${wallMs} ms`);
  return (cpuMs * 1000) / requests;
}
