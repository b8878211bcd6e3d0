import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { BinaryStarEvent } from "../../../patterns/binary-star";
import type { BrokerEvent, WorkerEvent } from "../../../patterns/majordomo";
import type { BrokerChildConfig } from "./children/broker-main";
import type { WorkerChildConfig } from "./children/worker-main";
import { PeerProcess } from "../../helpers/peer-process";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const CHILDREN = path.join(__dirname, "children");
const ENTRIES = ["broker-main.ts", "worker-main.ts"];

/** What the child scripts print: their component's events, tagged by the worker with its pid. */
export type WorkerLine = WorkerEvent & { readonly pid: number };
export type BrokerLine =
  | BrokerEvent
  | { readonly type: "bound"; readonly endpoint: string }
  /** A pair broker's Binary Star event. */
  | { readonly type: "pair"; readonly event: BinaryStarEvent };

/**
 * Compiles the child entry scripts (and what they import) with tsc into a
 * fresh temporary folder, so the children run as plain `node` with no
 * TypeScript loader. Returns the folder; pass it to {@link NodePeers}.
 */
export async function compileChildren(): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), "privateer-mdp-children-"));
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const args = [
    tsc,
    "--outDir", outDir,
    "--rootDir", ROOT,
    "--module", "commonjs",
    "--moduleResolution", "node",
    "--target", "ES2022",
    "--strict",
    "--esModuleInterop",
    "--skipLibCheck",
    "--lib", "es2022", "--types", "node",
    ...ENTRIES.map((entry) => path.join(CHILDREN, entry)),
  ];
  await promisify(execFile)(process.execPath, args, { cwd: ROOT });
  return outDir;
}

/** Removes what {@link compileChildren} made. */
export async function removeCompiled(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
}

/** A child that prints one JSON object a line. */
export class NodePeer<L extends { readonly type: string }> extends PeerProcess {
  /** Everything printed so far, parsed. */
  events(): L[] {
    return this.lines.map((line) => JSON.parse(line) as L);
  }

  /** Resolves with the first event (already printed or to come) of `type` passing `test`, after `skip` earlier ones. */
  waitForEvent<T extends L["type"]>(
    type: T,
    test: (event: Extract<L, { type: T }>) => boolean = () => true,
    ms = 15000,
    skip = 0,
  ): Promise<Extract<L, { type: T }>> {
    const matches = (line: string): boolean => {
      const event = JSON.parse(line) as L;
      return event.type === type && test(event as Extract<L, { type: T }>);
    };
    return this.waitForLine(matches, `"${type}" event`, ms, skip).then((line) => JSON.parse(line) as Extract<L, { type: T }>);
  }
}

/** Starts compiled children and kills every one of them in afterEach. */
export class NodePeers {
  private readonly all: PeerProcess[] = [];

  constructor(private readonly outDir: string) {}

  worker(config: WorkerChildConfig): NodePeer<WorkerLine> {
    return this.start<WorkerLine>("worker-main.js", config);
  }

  broker(config: BrokerChildConfig): NodePeer<BrokerLine> {
    return this.start<BrokerLine>("broker-main.js", config);
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((peer) => peer.kill("SIGKILL")));
  }

  private start<L extends { readonly type: string }>(script: string, config: object): NodePeer<L> {
    const file = path.join(this.outDir, path.relative(ROOT, CHILDREN), script);
    const peer = new NodePeer<L>(process.execPath, [file, JSON.stringify(config)], {
      cwd: ROOT,
      // The compiled files live outside the project, so point require() at its node_modules (pino, rxjs).
      env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") },
    });
    this.all.push(peer);
    return peer;
  }
}
