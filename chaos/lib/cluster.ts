import { createWriteStream, existsSync, mkdirSync, type WriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  GenericContainer,
  getContainerRuntimeClient,
  Wait,
  type ContainerRuntimeClient,
  type StartedTestContainer,
} from "testcontainers";

// testcontainers reads these when it first talks to the engine. Ryuk would need
// an image pulled from a registry, which these machines cannot reach; and the
// engine here runs with --bridge=none, so the host lookup it does when it finds
// /.dockerenv (inspecting the "bridge" network) would fail without an override.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";

/** dockerode's container, which has the kill/pause/unpause/wait that StartedTestContainer lacks. */
type Container = ReturnType<ContainerRuntimeClient["container"]["getById"]>;

/** Where the project lives; mounted read-only at the same path so Node's module resolution works unchanged inside. */
export const PROJECT_DIR = join(__dirname, "..", "..");
/** The compiled entry scripts (see chaos/tsconfig.json). */
export const NODES_DIR = join(PROJECT_DIR, "chaos", "build", "chaos", "nodes");
/** The image every chaos container runs (built by {@link buildImage}). */
export const IMAGE = "privateer-chaos:1";
/** Inside the containers; the host side is a per-scenario temp folder. */
const EFFECTS_MOUNT = "/chaos-effects";

let imageBuilt: Promise<void> | undefined;

/** Builds the FROM-scratch image once per test process (a cached no-op when it already exists). */
export function buildImage(): Promise<void> {
  imageBuilt ??= GenericContainer.fromDockerfile(join(PROJECT_DIR, "chaos", "image"))
    .build(IMAGE, { deleteOnExit: false })
    .then(() => undefined);
  return imageBuilt;
}

/** Timing shared by the broker, the workers and the test's expectations. */
export interface Timing {
  heartbeatMs: number;
  liveness: number;
  reconnectMs: number;
  requestTimeoutMs: number;
  workMs: number;
}

export interface ClusterOptions {
  /** A label value that marks every container of this cluster, for cleanup. */
  runId: string;
  /** Host folder that receives effects/ (bind-mounted into workers) and logs/. */
  runDir: string;
  /** Where clients connect (the broker, or the queue's frontend). */
  port: number;
  /** A queue with a separate worker-facing socket (Paranoid Pirate) binds this; Majordomo serves both on `port`. */
  backendPort?: number;
  service: string;
  timing: Timing;
  /** Which entry scripts to run; Majordomo by default. */
  scripts?: { broker: string; worker: string };
}

export type NodeState = "running" | "paused" | "dead";

/** One container: one incarnation of a slot ("broker", "w1", ...). */
export interface NodeHandle {
  readonly slot: string;
  /** slot.incarnation, e.g. "w2.1"; also the name of the worker's effects file. */
  readonly name: string;
  readonly role: "broker" | "worker";
  readonly started: StartedTestContainer;
  readonly docker: Container;
  state: NodeState;
}

/**
 * The broker and worker containers of one scenario. Slots keep their name
 * across restarts while each incarnation is a new container, so a restarted
 * worker writes a new effects file and the checker can tell who did what.
 */
export class Cluster {
  readonly effectsDir: string;
  readonly logsDir: string;
  /** What clients connect to. */
  readonly endpoint: string;
  /** What workers connect to. */
  readonly workerEndpoint: string;
  private readonly nodes: NodeHandle[] = [];
  private readonly current = new Map<string, NodeHandle>();
  private readonly incarnations = new Map<string, number>();
  private readonly logs: WriteStream[] = [];

  constructor(private readonly options: ClusterOptions) {
    this.effectsDir = join(options.runDir, "effects");
    this.logsDir = join(options.runDir, "logs");
    mkdirSync(this.effectsDir, { recursive: true });
    mkdirSync(this.logsDir, { recursive: true });
    this.endpoint = `tcp://127.0.0.1:${options.port}`;
    this.workerEndpoint = `tcp://127.0.0.1:${options.backendPort ?? options.port}`;
  }

  /** Every container this cluster started, in start order. */
  all(): readonly NodeHandle[] {
    return this.nodes;
  }

  /** The latest incarnation of a slot. */
  node(slot: string): NodeHandle {
    const node = this.current.get(slot);
    if (!node) throw new Error(`no container for slot ${slot}`);
    return node;
  }

  workerSlots(): string[] {
    return [...this.current.values()].filter((n) => n.role === "worker").map((n) => n.slot);
  }

  startBroker(): Promise<NodeHandle> {
    const t = this.options.timing;
    return this.start("broker", "broker", this.script("broker"), {
      CHAOS_PORT: String(this.options.port),
      ...(this.options.backendPort ? { CHAOS_BACKEND_PORT: String(this.options.backendPort) } : {}),
      CHAOS_HEARTBEAT_MS: String(t.heartbeatMs),
      CHAOS_LIVENESS: String(t.liveness),
      CHAOS_REQUEST_TIMEOUT_MS: String(t.requestTimeoutMs),
    });
  }

  startWorker(slot: string): Promise<NodeHandle> {
    const t = this.options.timing;
    return this.start(slot, "worker", this.script("worker"), {
      CHAOS_BROKER: this.workerEndpoint,
      CHAOS_SERVICE: this.options.service,
      CHAOS_EFFECTS_DIR: EFFECTS_MOUNT,
      CHAOS_WORK_MS: String(t.workMs),
      CHAOS_HEARTBEAT_MS: String(t.heartbeatMs),
      CHAOS_LIVENESS: String(t.liveness),
      CHAOS_RECONNECT_MS: String(t.reconnectMs),
    });
  }

  /** SIGKILL: no DISCONNECT, no flushing, the process just stops existing. */
  async kill(slot: string): Promise<NodeHandle> {
    const node = this.node(slot);
    if (node.state === "dead") return node;
    // A frozen process cannot be killed until it is thawed; docker would refuse.
    if (node.state === "paused") await node.docker.unpause();
    await node.docker.kill({ signal: "SIGKILL" });
    await node.docker.wait();
    node.state = "dead";
    return node;
  }

  /**
   * docker pause freezes every process of the container (cgroup freezer): the
   * TCP connections stay open but nothing answers. The freezer gives up
   * ("unable to freeze") when a task does not reach the frozen state in time,
   * which happens on a loaded machine while the process is in a system call;
   * runc thaws what it had frozen and reports the error, so the freeze is tried
   * again. Any other error, or a third failure, fails the step (and the test).
   */
  async pause(slot: string): Promise<NodeHandle> {
    const node = this.node(slot);
    if (node.state !== "running") throw new Error(`cannot pause ${node.name}: it is ${node.state}`);
    for (let attempt = 1; ; attempt++) {
      try {
        await node.docker.pause();
        break;
      } catch (error) {
        if (attempt >= 3 || !/unable to freeze/.test(String((error as Error).message))) throw error;
        await sleep(100);
      }
    }
    node.state = "paused";
    return node;
  }

  async unpause(slot: string): Promise<NodeHandle> {
    const node = this.node(slot);
    if (node.state !== "paused") return node;
    await node.docker.unpause();
    node.state = "running";
    return node;
  }

  /** A new container for the slot; the old one must be dead (kill it first). */
  async restart(slot: string): Promise<NodeHandle> {
    const old = this.node(slot);
    if (old.state !== "dead") await this.kill(slot);
    return old.role === "broker" ? this.startBroker() : this.startWorker(slot);
  }

  /**
   * Removes every container of this cluster, whatever state it is in; never
   * throws. Found by label as well as by handle, so a container whose start
   * failed half-way (created, but never reported READY) goes too.
   */
  async teardown(): Promise<void> {
    const ids = new Set(this.nodes.map((node) => node.started.getId()));
    try {
      const client = await getContainerRuntimeClient();
      const labelled = await client.container.dockerode.listContainers({
        all: true,
        filters: { label: [`privateer.chaos.run=${this.options.runId}`] },
      });
      for (const container of labelled) ids.add(container.Id);
      await Promise.all(
        [...ids].map(async (id) => {
          const container = client.container.getById(id);
          try {
            // A frozen container ignores SIGKILL until thawed; remove would hang on it.
            await container.unpause();
          } catch {
            // Not paused, or already gone: removal below is what matters.
          }
          try {
            await container.remove({ force: true, v: true });
          } catch {
            // Already removed (e.g. by an earlier teardown).
          }
        }),
      );
    } finally {
      for (const node of this.nodes) node.state = "dead";
      for (const log of this.logs.splice(0)) log.end();
    }
  }

  private script(role: "broker" | "worker"): string {
    const scripts = this.options.scripts ?? { broker: "mdp-broker.js", worker: "mdp-worker.js" };
    return join(NODES_DIR, scripts[role]);
  }

  private async start(
    slot: string,
    role: "broker" | "worker",
    script: string,
    environment: Record<string, string>,
  ): Promise<NodeHandle> {
    const incarnation = (this.incarnations.get(slot) ?? 0) + 1;
    this.incarnations.set(slot, incarnation);
    const name = `${slot}.${incarnation}`;
    const log = createWriteStream(join(this.logsDir, `${name}.log`));
    this.logs.push(log);
    const started = await new GenericContainer(IMAGE)
      .withNetworkMode("host")
      .withBindMounts(hostMounts([{ source: this.effectsDir, target: EFFECTS_MOUNT }]))
      .withEnvironment({ ...environment, CHAOS_NAME: name })
      .withCommand([process.execPath, script])
      .withLabels({ "privateer.chaos.run": this.options.runId, "privateer.chaos.node": name })
      .withWaitStrategy(Wait.forLogMessage(/^READY /m))
      .withStartupTimeout(30_000)
      .withLogConsumer((stream) => stream.pipe(log))
      .start();
    const client = await getContainerRuntimeClient();
    const node: NodeHandle = {
      slot,
      name,
      role,
      started,
      docker: client.container.getById(started.getId()),
      state: "running",
    };
    this.nodes.push(node);
    this.current.set(slot, node);
    return node;
  }
}

/** A bind mount of a host folder into a chaos container. */
export interface Mount {
  source: string;
  target: string;
  mode: "ro" | "rw";
}

/**
 * The container sees the host's Node and libraries read-only, the project
 * read-only at its own path, and the given folders writable (the effects
 * folder here, an exactly-once run's folder in docker-launcher.ts). Nothing
 * else: a node has no way to touch the test's bookkeeping but what it is given.
 */
export function hostMounts(writable: ReadonlyArray<{ source: string; target: string }>): Mount[] {
  const system = ["/usr", "/lib", "/lib64", "/etc"].filter((path) => existsSync(path));
  const mounts: Mount[] = system.map((path) => ({
    source: path,
    target: path,
    mode: "ro",
  }));
  // Node is /usr/bin/node on these machines; elsewhere bring its folder along.
  const nodeDir = dirname(process.execPath);
  if (!system.some((path) => nodeDir.startsWith(`${path}/`))) {
    mounts.push({ source: nodeDir, target: nodeDir, mode: "ro" });
  }
  mounts.push({ source: PROJECT_DIR, target: PROJECT_DIR, mode: "ro" });
  for (const { source, target } of writable) mounts.push({ source, target, mode: "rw" });
  return mounts;
}

/**
 * Free TCP ports on 127.0.0.1 right now (the broker binds them moments later,
 * and again after each restart): the tests' and benchmarks' helper.
 */
export { freePorts } from "../../test/helpers/free-address";
