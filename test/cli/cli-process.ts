import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { promisify } from "node:util";

export const ROOT = path.resolve(__dirname, "..", "..");
export const FIXTURES = path.join(__dirname, "fixtures");
const ENTRY = path.join(ROOT, "patterns", "cli", "main.ts");
/** Forked by `privateer demo` rather than imported, so tsc must be given it as an entry too. */
const DEMO_CHILD = path.join(ROOT, "patterns", "cli", "ha-demo", "child.ts");

/** One JSON log line of the CLI (pino): level, msg and the bound fields. */
export type LogRecord = { level: number; msg: string } & Record<string, unknown>;

/**
 * Compiles the CLI (and what it imports) with tsc into a fresh temporary
 * folder, so the tests run it as `node main.js`, as the installed bin runs.
 * Returns the folder.
 */
export async function compileCli(): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), "privateer-cli-"));
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const args = [tsc, "--outDir", outDir, "--rootDir", ROOT, "--module", "commonjs", "--moduleResolution", "node", "--target", "ES2022"];
  args.push("--strict", "--esModuleInterop", "--skipLibCheck", "--lib", "es2022", "--types", "node", ENTRY, DEMO_CHILD);
  await promisify(execFile)(process.execPath, args, { cwd: ROOT });
  return outDir;
}

export async function removeCompiled(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
}

/** The compiled CLI's entry. */
export function cliMain(outDir: string): string {
  return path.join(outDir, "patterns", "cli", "main.js");
}

/** The environment a CLI child gets: ours without PRIVATEER_* (so the host cannot change a test), plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("PRIVATEER_")) env[key] = value;
  // The compiled files live outside the project: point require() at its node_modules (commander, pino, rxjs).
  return { ...env, NODE_PATH: path.join(ROOT, "node_modules"), ...extra };
}

/**
 * A `privateer` command in a child process: its stdout lines, its stderr
 * log records (JSON lines), a way to await a record, and its exit.
 */
export class CliProcess {
  readonly stdout: string[] = [];
  readonly logs: LogRecord[] = [];
  /** stderr lines that are not JSON (usage errors, messages of call/services). */
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: Array<{ test: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  private done = false;

  constructor(outDir: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [cliMain(outDir), ...args], { cwd: ROOT, env: cliEnv(env), stdio: "pipe" });
    this.pid = this.child.pid ?? -1;
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => this.stdout.push(line));
    readline.createInterface({ input: this.child.stderr }).on("line", (line) => {
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        this.stderr.push(line);
        return;
      }
      this.logs.push(record);
      this.waiters = this.waiters.filter((w) => (w.test(record) ? (w.resolve(record), false) : true));
    });
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      });
    });
  }

  /** Resolves with the first log record (logged already or to come) passing `test`. */
  waitForLog(test: (record: LogRecord) => boolean, what: string, ms = 15000): Promise<LogRecord> {
    const found = this.logs.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; ${this.describe()}`)), ms);
      const stop = this.exited.then(() => {
        // Give the last lines a turn to arrive before giving up.
        setImmediate(() => {
          clearTimeout(timer);
          const late = this.logs.find(test);
          if (late) resolve(late);
          else reject(new Error(`exited before ${what}; ${this.describe()}`));
        });
      });
      void stop;
      this.waiters.push({
        test,
        resolve: (record) => {
          clearTimeout(timer);
          resolve(record);
        },
      });
    });
  }

  /** Waits for a record whose `msg` is `msg`. */
  waitForMsg(msg: string, ms?: number): Promise<LogRecord> {
    return this.waitForLog((r) => r.msg === msg, `log "${msg}"`, ms);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.done) this.child.kill(signal);
  }

  /** Kills it (SIGKILL) if it still runs; for afterEach. */
  async kill(): Promise<void> {
    if (this.done) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  describe(): string {
    return `stdout=${JSON.stringify(this.stdout)} stderr=${JSON.stringify(this.stderr)} logs=${JSON.stringify(this.logs.map((r) => r.msg))}`;
  }
}

/** Runs a short command (call, services, --help, demo) to its end: exit code and output. */
export async function runCli(
  outDir: string,
  args: string[],
  env: Record<string, string> = {},
  ms = 20000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cliMain(outDir), ...args], { cwd: ROOT, env: cliEnv(env), timeout: ms }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      if (code === null && error !== null) reject(new Error(`${args.join(" ")}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
