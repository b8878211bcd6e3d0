/**
 * Where the exactly-once scenario's nodes run: child processes (`npm test`,
 * no container engine) or Docker containers (the chaos project). A scenario
 * only ever starts, kills, pauses and resumes nodes through this interface,
 * so both launchers run the very same schedule.
 */

/** A compiled node script under chaos/build/chaos/nodes (see chaos/tsconfig.json). */
export type NodeScript = "eo-broker.js" | "eo-worker.js" | "eo-client.js";

export interface NodeSpec {
  /** Unique within the run, e.g. "broker-primary", "worker-2", "client-1". Also the container name's suffix. */
  readonly name: string;
  readonly script: NodeScript;
  /** The node's whole configuration: the nodes read environment variables only (chaos/nodes/env.ts). */
  readonly env: Readonly<Record<string, string>>;
}

export interface NodeHandle {
  readonly name: string;
  /** SIGKILL; resolves once the process (or container) is gone. */
  kill(): Promise<void>;
  /** SIGSTOP (docker pause for containers): the process keeps its sockets but runs nothing. */
  pause(): Promise<void>;
  /** SIGCONT (docker unpause). */
  resume(): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) when the node ends on its own or is killed. */
  readonly exited: Promise<number | null>;
  /** Everything the node printed on stdout so far, one entry a line. */
  lines(): readonly string[];
}

export interface Launcher {
  readonly kind: "process" | "container";
  /** Starts the node; resolves once it printed its `READY` line (rejects if it exits first). */
  start(spec: NodeSpec): Promise<NodeHandle>;
  /** Kills and removes every node this launcher started; safe to call twice. */
  removeAll(): Promise<void>;
}
