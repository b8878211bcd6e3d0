import { spawn } from "node:child_process";
import { exitCode, judge, summaryLines, type RunRecord } from "../../patterns/cli/ha-demo/check";
import { cliEnv, cliMain, compileCli, removeCompiled, ROOT } from "./cli-process";

function record(parts: Partial<RunRecord> & { executions: Map<string, number> }): RunRecord {
  const sent = parts.sent ?? new Set(parts.executions.keys());
  return {
    sent,
    answered: parts.answered ?? new Map([...sent].map((id) => [id, id])),
    failed: parts.failed ?? new Set(),
    executions: parts.executions,
  };
}

describe("the HA demo's verdict", () => {
  const clean = () => new Map([["c1-1", 1], ["c1-2", 1], ["c2-1", 1]]);

  it("passes a run where every request was answered and executed once", () => {
    const verdict = judge(record({ executions: clean() }));
    expect(verdict).toMatchObject({ sent: 3, answered: 3, executed: 3, executedTwice: [], lost: [] });
    expect(exitCode(verdict)).toBe(0);
    expect(summaryLines(verdict)).toContain("executed twice: 0");
  });

  it("fails a run whose ledger holds two rows for one id", () => {
    const executions = clean().set("c1-2", 2);
    const verdict = judge(record({ executions }));
    expect(verdict.executedTwice).toEqual(["c1-2"]);
    expect(exitCode(verdict)).toBe(1);
    expect(summaryLines(verdict)).toContain("executed twice: 1 (c1-2)");
  });

  it("counts as lost an answered request with no ledger row, a reply to another request, and a hung request", () => {
    const sent = new Set(["c1-1", "c1-2", "c2-1", "c2-2"]);
    const answered = new Map([["c1-1", "c1-1"], ["c1-2", "c1-2"], ["c2-1", "c1-1"]]);
    const executions = new Map([["c1-1", 1], ["c2-1", 1], ["c2-2", 0]]);
    const verdict = judge({ sent, answered, failed: new Set(), executions });
    expect([...verdict.lost].sort()).toEqual(["c1-2", "c2-1", "c2-2"]);
    expect(exitCode(verdict)).toBe(1);
  });

  it("reports a failed request without failing the run, but fails a run that answered nothing", () => {
    const withFailure = judge(record({ executions: clean(), failed: new Set(["c3-1"]), sent: new Set(["c1-1", "c1-2", "c2-1", "c3-1"]), answered: new Map([["c1-1", "c1-1"], ["c1-2", "c1-2"], ["c2-1", "c2-1"]]) }));
    expect(withFailure).toMatchObject({ failed: 1, lost: [] });
    expect(exitCode(withFailure)).toBe(0);
    expect(summaryLines(withFailure)[0]).toContain("FAILED REQUESTS");
    const nothing = judge({ sent: new Set(["c1-1"]), answered: new Map(), failed: new Set(["c1-1"]), executions: new Map() });
    expect(exitCode(nothing)).toBe(1);
  });
});

/**
 * The demo itself: the CLI compiled (with the demo's child) into a temporary
 * folder and run as `privateer demo`, what `npm start` runs, for a short
 * duration with faults on.
 */
describe("privateer demo, run", () => {
  let outDir: string;

  beforeAll(async () => {
    outDir = await compileCli();
  }, 240_000);

  afterAll(async () => {
    if (outDir !== undefined) await removeCompiled(outDir);
  });

  function runDemo(args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      // cliEnv points require() at the project's node_modules (better-sqlite3) and drops the host's PRIVATEER_*.
      const child = spawn(process.execPath, [cliMain(outDir), "demo", ...args], { cwd: ROOT, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.once("error", reject);
      child.once("exit", (code) => resolve({ code, out }));
    });
  }

  const count = (out: string, pattern: RegExp): number => Number(pattern.exec(out)?.[1] ?? NaN);

  it("survives a worker killed mid-request and a broker failover: exit 0, nothing lost, nothing executed twice", async () => {
    const { code, out } = await runDemo(["--duration", "8", "--workers", "3", "--clients", "4"]);
    expect(out).toMatch(/FAULT kill -9 worker w\d .* in the middle of request/);
    expect(out).toMatch(/FAULT kill -9 the active broker \(primary/);
    // The failover happened: the backup became active after the primary was killed.
    expect(out).toMatch(/backup broker is now ACTIVE/);
    expect(count(out, /faults: (\d+) worker kills/)).toBeGreaterThanOrEqual(1);
    expect(count(out, /(\d+) failovers/)).toBeGreaterThanOrEqual(1);
    expect(count(out, /answered (\d+), failed/)).toBeGreaterThan(0);
    expect(out).toContain("executed twice: 0\n");
    expect(out).toContain("lost: 0\n");
    expect(code).toBe(0);
  }, 120_000);

  // Negative control: the same faults without the exactly-once store. The
  // worker is killed after its ledger row is written, so the retry of that
  // request writes a second row, and the check must catch it.
  it("without dedup, the same faults execute a request twice and the run exits 1", async () => {
    const { code, out } = await runDemo(["--duration", "8", "--workers", "3", "--clients", "4", "--no-dedup"]);
    expect(out).toMatch(/FAULT kill -9 worker w\d .* in the middle of request/);
    expect(count(out, /executed twice: (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(out).toContain("result: FAIL (exit 1)");
    expect(code).toBe(1);
  }, 120_000);
});
