import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NODES_DIR, PROJECT_DIR } from "./cluster";

/**
 * Compiles what the containers run (src, the pattern under test and
 * chaos/nodes) into chaos/build with chaos/tsconfig.json, not `npm run build`:
 * that one also compiles examples and benchmarks that other people may be
 * editing at the same moment. tsc still writes JavaScript when it reports type
 * errors elsewhere, so only missing output is fatal; the diagnostics are
 * returned for the log, and the typecheck step of `npm test` owns type errors.
 */
export function compileNodes(entries: readonly string[]): { ms: number; diagnostics: string } {
  const began = Date.now();
  const tsc = join(PROJECT_DIR, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", join(PROJECT_DIR, "chaos", "tsconfig.json")], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    timeout: 180_000,
  });
  const diagnostics = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
  const missing = entries.filter((entry) => !existsSync(join(NODES_DIR, entry)));
  if (result.error || missing.length > 0) {
    throw new Error(
      `compiling chaos/tsconfig.json failed (${result.error?.message ?? `exit ${result.status}`}); ` +
        `missing ${missing.join(", ") || "nothing"}\n${diagnostics}`,
    );
  }
  return { ms: Date.now() - began, diagnostics };
}

/**
 * Whether a Docker engine answers. Checked synchronously when the test file
 * loads, so the suite can be skipped on a developer machine without Docker;
 * under CI (CI=true) it never skips, so a missing engine fails loudly.
 */
export function dockerAvailable(): boolean {
  const probe = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 15_000 });
  return probe.status === 0 && probe.stdout.trim() !== "";
}
