/**
 * Settings for the processes that run inside the chaos containers. They come
 * from environment variables because the test process sets them per container
 * (withEnvironment) and a missing one should stop the process loudly rather
 * than fall back to a default that silently differs from the test's timing.
 */
import { appendFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`chaos node: environment variable ${name} is not set`);
  return value;
}

export function requiredNumber(name: string): number {
  const value = Number(required(name));
  if (!Number.isFinite(value)) throw new Error(`chaos node: ${name} is not a number`);
  return value;
}

/**
 * One JSON object per line on stdout: the test process tees container output
 * into a log file and counts these lines after the run, so the summary can say
 * how often the broker actually requeued or expired something.
 */
export function record(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...fields })}\n`);
}

/**
 * Node as PID 1 in a container ignores SIGTERM unless told otherwise, and
 * `docker stop` should not have to wait for its SIGKILL fallback.
 */
export function exitOnTerm(cleanup: () => void | Promise<void>): void {
  const stop = async (): Promise<void> => {
    try {
      await cleanup();
    } finally {
      process.exit(0);
    }
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

/**
 * The work every chaos worker does: note the execution in the effects file
 * first (so a worker killed mid-request still leaves its record), work for
 * `workMs`, then answer with the request id, the worker's name and how many
 * requests it has executed. The checker reads both.
 */
export function recordingEcho(name: string, effects: string, workMs: number): (id: string) => Promise<string[]> {
  let executions = 0;
  return async (id) => {
    executions += 1;
    const seq = executions;
    // One write() per line with O_APPEND: a SIGKILL cannot leave half a line behind.
    appendFileSync(effects, `${id} ${name} ${seq}\n`);
    await sleep(workMs);
    return [id, name, String(seq)];
  };
}

