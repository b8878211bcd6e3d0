import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import * as readline from "node:readline";
import { NODES_DIR, PROJECT_DIR } from "../cluster";
import type { Launcher, NodeHandle, NodeSpec } from "./launcher";

/** Options of {@link ProcessLauncher}. */
export interface ProcessLauncherOptions {
  /** ms a node may take to print its READY line. Default 20,000 (two cores shared with a test run). */
  readonly readyTimeoutMs?: number;
  /** Folder of the compiled node scripts. Default chaos/build/chaos/nodes (chaos/lib/build.ts compileNodes). */
  readonly nodesDir?: string;
}

/**
 * Runs the exactly-once scenario's nodes as child processes of the test
 * (`node <nodesDir>/<script>`), so the suite needs no container engine:
 * kill is SIGKILL, pause SIGSTOP, resume SIGCONT. Each node's environment is
 * its spec's env on top of this process's (PATH and friends), with pino quiet.
 */
export class ProcessLauncher implements Launcher {
  readonly kind = "process" as const;
  private readonly readyTimeoutMs: number;
  private readonly nodesDir: string;
  private readonly nodes = new Set<ProcessNode>();

  constructor(options: ProcessLauncherOptions = {}) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.nodesDir = options.nodesDir ?? NODES_DIR;
  }

  async start(spec: NodeSpec): Promise<NodeHandle> {
    const node = new ProcessNode(spec, join(this.nodesDir, spec.script));
    this.nodes.add(node);
    try {
      await node.ready(this.readyTimeoutMs);
    } catch (error) {
      await node.kill();
      throw error;
    }
    return node;
  }

  async removeAll(): Promise<void> {
    const nodes = [...this.nodes];
    this.nodes.clear();
    await Promise.all(nodes.map((node) => node.kill()));
  }
}

class ProcessNode implements NodeHandle {
  readonly name: string;
  readonly exited: Promise<number | null>;
  private readonly output: string[] = [];
  private readonly child: ChildProcess;
  private stderr = "";
  private done = false;
  private onLine?: (line: string) => void;

  constructor(spec: NodeSpec, script: string) {
    this.name = spec.name;
    this.child = spawn(process.execPath, [script], {
      cwd: PROJECT_DIR,
      env: { ...process.env, LOG_LEVEL: "silent", ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code) => {
        this.done = true;
        resolve(code);
      });
      // A spawn failure (no such file) emits "error" without "exit".
      this.child.once("error", (error) => {
        this.stderr += String(error);
        this.done = true;
        resolve(null);
      });
    });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      // Keep the start of stderr only: enough for a stack trace, bounded for a node that complains all run long.
      if (this.stderr.length < 16_384) this.stderr += chunk.toString();
    });
    readline.createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.output.push(line);
      this.onLine?.(line);
    });
  }

  ready(ms: number): Promise<void> {
    if (this.output.some((line) => line.startsWith("READY"))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.onLine = undefined;
        reject(new Error(`node ${this.name} ${why}; stdout=${JSON.stringify(this.output.slice(0, 20))} stderr=${this.stderr}`));
      };
      const timer = setTimeout(() => fail(`printed no READY line within ${ms} ms`), ms);
      this.onLine = (line) => {
        if (!line.startsWith("READY")) return;
        clearTimeout(timer);
        this.onLine = undefined;
        resolve();
      };
      void this.exited.then((code) => fail(`exited (${code ?? "signal"}) before READY`));
    });
  }

  async kill(): Promise<void> {
    if (!this.done) {
      // A stopped process takes SIGKILL too; no SIGCONT needed.
      this.child.kill("SIGKILL");
    }
    await this.exited;
  }

  pause(): Promise<void> {
    if (!this.done) this.child.kill("SIGSTOP");
    return Promise.resolve();
  }

  resume(): Promise<void> {
    if (!this.done) this.child.kill("SIGCONT");
    return Promise.resolve();
  }

  lines(): readonly string[] {
    return this.output;
  }

  /** What the node wrote on stderr (the start of it), for a failure message. */
  errors(): string {
    return this.stderr;
  }
}
