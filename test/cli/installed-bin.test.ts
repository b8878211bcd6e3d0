/**
 * The `privateer` command as a user gets it: the packed tarball installed
 * into an empty project outside the repository, run through `npx`, and the
 * `privateer/metrics` entry imported by name.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = resolve(__dirname, "../..");

/** Runs a command; on failure the error carries its output. */
async function sh(file: string, args: string[], cwd: string, timeout = 180_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

let work: string;
let app: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "privateer-bin-"));
  // The package is built and packed in a staging folder, not in the repository, so this suite never races the
  // other packing suite (test/package) over the repository's dist/ when jest runs them in parallel.
  const stage = join(work, "stage");
  mkdirSync(stage);
  for (const file of ["package.json", "README.md"]) copyFileSync(join(repo, file), join(stage, file));
  await sh(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", join(stage, "dist")], repo, 240_000);
  await sh("npm", ["pack", "--ignore-scripts", "--pack-destination", work, "--loglevel=error"], stage, 240_000);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  await sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(work, tarball)], app, 240_000);
  // `privateer demo` needs the optional peer better-sqlite3, a native module: link the repository's build instead
  // of compiling it again. Node resolves the link to its real path, so its own dependencies (bindings,
  // file-uri-to-path) are found beside it in the repository's node_modules.
  symlinkSync(join(repo, "node_modules", "better-sqlite3"), join(app, "node_modules", "better-sqlite3"), "dir");
}, 600_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

it("npx privateer --help lists the commands", async () => {
  const { stdout } = await sh("npx", ["--no-install", "privateer", "--help"], app);
  expect(stdout).toContain("Usage: privateer [options] [command]");
  for (const command of ["broker", "queue", "worker", "call", "services", "demo"]) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
  const version = await sh("npx", ["--no-install", "privateer", "--version"], app);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
}, 60_000);

it("npx privateer demo runs the HA demo from the installed package: exit 0, nothing executed twice", async () => {
  const help = await sh("npx", ["--no-install", "privateer", "demo", "--help"], app);
  for (const flag of ["--duration", "--workers", "--clients", "--no-faults", "--no-dedup"]) expect(help.stdout).toContain(flag);
  // sh throws on a non-zero exit, so reaching the assertions means exit 0.
  const { stdout } = await sh("npx", ["--no-install", "privateer", "demo", "--duration", "3", "--workers", "2", "--clients", "2"], app, 90_000);
  expect(stdout).toMatch(/answered [1-9]\d*, failed/);
  expect(stdout).toContain("executed twice: 0\n");
  expect(stdout).toContain("lost: 0\n");
}, 120_000);

it("privateer/metrics loads by name, and the main entry does not load prom-client", async () => {
  writeFileSync(
    join(app, "metrics.cjs"),
    `const main = require("privateer");
const promLoaded = () => Object.keys(require.cache).some((file) => file.includes("/prom-client/"));
const before = promLoaded();
const { PatternMetrics, serveMetrics } = require("privateer/metrics");
const metrics = new PatternMetrics();
console.log(JSON.stringify({ before, after: promLoaded(), serve: typeof serveMetrics, broker: typeof main.MajordomoBroker, registry: typeof metrics.registry.metrics }));
`,
  );
  const { stdout } = await sh("node", ["metrics.cjs"], app);
  expect(JSON.parse(stdout)).toEqual({ before: false, after: true, serve: "function", broker: "function", registry: "function" });
}, 60_000);
