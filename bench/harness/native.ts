import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export type NativeBuild = { readonly binary: string; readonly version: string } | { readonly skipped: string };

/**
 * Compiles bench/native/peer.c against the system libzmq. Any failure
 * (no compiler, no headers) skips the native baseline with the reason
 * instead of failing the whole run.
 */
export function buildNative(root: string, outDir: string): NativeBuild {
  const source = join(root, "bench", "native", "peer.c");
  const binary = join(outDir, "peer");
  if (!existsSync("/usr/include/zmq.h") && !existsSync("/usr/local/include/zmq.h")) {
    return { skipped: "zmq.h not found (apt-get install libzmq3-dev); the native libzmq baseline is skipped" };
  }
  try {
    mkdirSync(outDir, { recursive: true });
    execFileSync("cc", ["-O2", "-Wall", "-o", binary, source, "-lzmq", "-lpthread"], { stdio: "pipe" });
    const out = execFileSync(binary, ["version"], { encoding: "utf8" });
    const version = (JSON.parse(out.trim()) as { version?: unknown }).version;
    return { binary, version: typeof version === "string" ? version : "unknown" };
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    return { skipped: `cannot build the native peer (cc ... -lzmq): ${detail.split("\n")[0]}; the native libzmq baseline is skipped` };
  }
}
