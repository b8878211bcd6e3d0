/**
 * The exactly-once scenarios' nodes as Docker containers: the same compiled
 * scripts the process launcher runs, started with `docker run` on the chaos
 * image (chaos/image, built locally), host networking so everything stays on
 * 127.0.0.1, the host's Node and the project mounted read-only at their own
 * paths (hostMounts in ../cluster.ts), and the run's folder mounted read-write
 * at its own path too, so a path in a node's environment (the SQLite file, a
 * client's outcome log) means the same file inside and outside.
 *
 * Faults go through the engine: `docker kill -s KILL`, `docker pause` (the
 * cgroup freezer: sockets stay open, nothing runs) and `docker unpause`.
 * The CLI rather than the engine's HTTP API, because the attached
 * `docker run` gives the container's stdout as a stream and its exit code
 * when the container ends, which is all a NodeHandle needs.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { hostMounts, IMAGE, NODES_DIR } from "../cluster";
import type { Launcher, NodeHandle, NodeSpec } from "./launcher";

const run = promisify(execFile);

/** The label every container of one launcher carries, so removeAll finds even one whose start failed half-way. */
const RUN_LABEL = "privateer.chaos.run";

export interface DockerLauncherOptions {
  /**
   * Marks this launcher's containers (label value and container-name prefix);
   * unique per run, so two runs, or a leftover of an earlier one, never clash.
   * Letters, digits, `.`, `_` and `-` only (a Docker name's alphabet).
   */
  readonly runId: string;
  /** The run's folder: SQLite database, client logs. Mounted read-write at the same path. */
  readonly runDir: string;
  /** Where each container's stdout and stderr are teed, one file per container; default `<runDir>/containers`. */
  readonly logsDir?: string;
  /** How long a node may take to print READY; default 30 s (a loaded 2-core machine starts Node slowly). */
  readonly startupTimeoutMs?: number;
}

/**
 * A node script the launcher can run. Wider than {@link NodeSpec} so the
 * launcher's own test can start the older chaos nodes (mdp-broker.js, ...)
 * before the exactly-once nodes exist.
 */
export interface ContainerSpec extends Omit<NodeSpec, "script"> {
  /** A file name under chaos/build/chaos/nodes. */
  readonly script: NodeSpec["script"] | `${string}.js`;
}

/** What a `docker` command printed when it failed, as the error's message. */
async function docker(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run("docker", [...args], { encoding: "utf8", timeout: 60_000 });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stderr?: string };
    throw new Error(`docker ${args[0]} failed: ${(failed.stderr ?? "").trim() || failed.message}`, { cause: error });
  }
}

/** One container, started by `docker run` attached (the CLI process lives as long as the container). */
class ContainerHandle implements NodeHandle {
  readonly exited: Promise<number | null>;
  private readonly output: string[] = [];
  private readonly watchers = new Set<(line: string) => void>();
  private readonly stderrTail: string[] = [];
  private state: "running" | "paused" | "dead" = "running";
  private killed = false;

  constructor(
    readonly name: string,
    /** The Docker container name. */
    readonly container: string,
    cli: ChildProcess,
    log: WriteStream,
  ) {
    createInterface({ input: cli.stdout! }).on("line", (line) => {
      this.output.push(line);
      log.write(`${line}\n`);
      for (const watcher of this.watchers) watcher(line);
    });
    createInterface({ input: cli.stderr! }).on("line", (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      log.write(`[stderr] ${line}\n`);
    });
    this.exited = new Promise((resolve) => {
      cli.once("close", (code) => {
        this.state = "dead";
        log.end();
        // The attached CLI exits with the container's status: 128 + n when signal n ended it.
        resolve(this.killed || code === null || code > 128 ? null : code);
      });
    });
  }

  lines(): readonly string[] {
    return this.output;
  }

  /** Calls `watcher` with every later stdout line until the returned function is called. */
  watch(watcher: (line: string) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** The last lines the node wrote on stderr, for a failed start's message. */
  stderr(): string {
    return this.stderrTail.join("\n");
  }

  get alive(): boolean {
    return this.state !== "dead";
  }

  async kill(): Promise<void> {
    if (this.state === "dead") return;
    this.killed = true;
    try {
      // The engine delivers SIGKILL to a paused container too, and thaws it so the signal lands.
      await docker(["kill", "--signal", "KILL", this.container]);
    } catch (error) {
      // Ended on its own between the check and the signal: what the caller wanted.
      if (this.alive) throw error;
    }
    await this.exited;
  }

  /**
   * The cgroup freezer gives up ("unable to freeze") when a task does not
   * reach the frozen state in time, which happens on a loaded machine while
   * the process is in a system call; runc thaws what it froze and reports it,
   * so the freeze is tried again (cluster.ts does the same).
   */
  async pause(): Promise<void> {
    if (this.state !== "running") throw new Error(`cannot pause ${this.name}: it is ${this.state}`);
    for (let attempt = 1; ; attempt++) {
      try {
        await docker(["pause", this.container]);
        break;
      } catch (error) {
        if (attempt >= 3 || !/unable to freeze/.test((error as Error).message)) throw error;
        await sleep(100);
      }
    }
    this.state = "paused";
  }

  async resume(): Promise<void> {
    if (this.state !== "paused") return;
    await docker(["unpause", this.container]);
    this.state = "running";
  }
}

/** {@link Launcher} over Docker containers; see the file comment. */
export class DockerLauncher implements Launcher {
  readonly kind = "container" as const;
  private readonly logsDir: string;
  private readonly handles: ContainerHandle[] = [];
  private readonly incarnations = new Map<string, number>();

  constructor(private readonly options: DockerLauncherOptions) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.runId)) throw new Error(`runId ${options.runId} is not a valid container name prefix`);
    this.logsDir = options.logsDir ?? join(options.runDir, "containers");
    mkdirSync(this.logsDir, { recursive: true });
  }

  /** Every container started so far, in start order. */
  started(): readonly NodeHandle[] {
    return this.handles;
  }

  async start(spec: ContainerSpec): Promise<NodeHandle> {
    // A restarted node (same spec name) is a new container: names must not repeat.
    const incarnation = (this.incarnations.get(spec.name) ?? 0) + 1;
    this.incarnations.set(spec.name, incarnation);
    const container = `${this.options.runId}-${spec.name}-${incarnation}`;
    const mounts = hostMounts([{ source: this.options.runDir, target: this.options.runDir }]);
    const args = [
      "run",
      "--name",
      container,
      "--network",
      "host",
      // The attached CLI streams the output to us, and we tee it to a file; the engine need not log it a second time.
      "--log-driver",
      "none",
      "--label",
      `${RUN_LABEL}=${this.options.runId}`,
      "--label",
      `privateer.chaos.node=${spec.name}`,
      ...mounts.flatMap((m) => ["--volume", `${m.source}:${m.target}:${m.mode}`]),
      // Quiet as the process launcher's nodes are, unless the spec says otherwise.
      ...Object.entries({ LOG_LEVEL: "silent", ...spec.env }).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
      IMAGE,
      process.execPath,
      join(NODES_DIR, spec.script),
    ];
    const cli = spawn("docker", args, { stdio: ["ignore", "pipe", "pipe"] });
    const handle = new ContainerHandle(spec.name, container, cli, createWriteStream(join(this.logsDir, `${container}.log`)));
    this.handles.push(handle);
    await this.ready(handle);
    return handle;
  }

  /** READY on stdout, or a rejection naming why not (the node exited, or took too long and was killed). */
  private ready(handle: ContainerHandle): Promise<void> {
    const timeoutMs = this.options.startupTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        unwatch();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => {
        void handle.kill().catch(() => undefined);
        done(new Error(`${handle.name} (${handle.container}) printed no READY line within ${timeoutMs} ms`));
      }, timeoutMs);
      const unwatch = handle.watch((line) => {
        if (/^READY\b/.test(line)) done();
      });
      void handle.exited.then((code) => {
        done(new Error(`${handle.name} (${handle.container}) exited (${code ?? "signal"}) before READY: ${handle.stderr()}`));
      });
    });
  }

  /**
   * Removes every container of this run, found by label as well as by handle
   * (a container created but never READY goes too). Paused ones are thawed
   * first: the engine cannot remove a frozen container. Safe to call twice.
   */
  async removeAll(): Promise<void> {
    const listed = await docker(["ps", "--all", "--quiet", "--filter", `label=${RUN_LABEL}=${this.options.runId}`]);
    const ids = listed.split("\n").map((id) => id.trim()).filter((id) => id !== "");
    if (ids.length > 0) {
      await docker(["unpause", ...ids]).catch(() => undefined); // Most are not paused; that error is expected.
      await docker(["rm", "--force", "--volumes", ...ids]);
    }
    await Promise.all(this.handles.map((handle) => handle.exited));
  }
}
