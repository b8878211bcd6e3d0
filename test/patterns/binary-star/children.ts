import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { NodePeer } from "../majordomo/node-peers";
import type { ServerChildConfig, ServerLine } from "./children/server-main";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const ENTRY = path.join(__dirname, "children", "server-main.ts");

/**
 * Compiles the server child (and what it imports) with tsc into a fresh
 * temporary folder, so children start as plain `node`, in well under a
 * heartbeat's worth of a restart test's patience. Returns the folder.
 */
export async function compileServerChild(): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), "privateer-bstar-children-"));
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const args = [tsc, "--outDir", outDir, "--rootDir", ROOT, "--module", "commonjs", "--moduleResolution", "node", "--target", "ES2022"];
  args.push("--strict", "--esModuleInterop", "--skipLibCheck", "--lib", "es2022", "--types", "node", ENTRY);
  await promisify(execFile)(process.execPath, args, { cwd: ROOT });
  return outDir;
}

export async function removeCompiled(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
}

/** Starts compiled server children and kills them all in afterEach. */
export class ServerChildren {
  private readonly all: Array<NodePeer<ServerLine>> = [];

  constructor(private readonly outDir: string) {}

  start(config: ServerChildConfig): NodePeer<ServerLine> {
    const file = path.join(this.outDir, path.relative(ROOT, ENTRY).replace(/\.ts$/, ".js"));
    const peer = new NodePeer<ServerLine>(process.execPath, [file, JSON.stringify(config)], {
      cwd: ROOT,
      // The compiled files live outside the project, so point require() at its node_modules (pino, rxjs).
      env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") },
    });
    this.all.push(peer);
    return peer;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((peer) => peer.kill("SIGKILL")));
  }
}
