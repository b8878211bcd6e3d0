/**
 * Same-run comparison of Privateer at two commits: did a change make any
 * benchmark slower? Both commits are checked out into temporary worktrees
 * (committed code only, so the figures belong to commits), built there, and
 * the bench runner of each is run in turn, alternating which goes first
 * (A B, B A, A B, ...) so that drift in the machine's load falls on both
 * sides alike. Only the privateer implementation runs: the question is
 * "this commit against that one", not "against zeromq.js".
 *
 *   node dist/bench/tools/compare-commits.js --base <rev> [--head <rev>] [--rounds 3]
 *        [--only word,word] [--full] [--out bench/results/compare-<base>-<head>]
 *
 * --base defaults to HEAD~1, --head to HEAD. Each round runs `--quick` (or,
 * with --full, the full round counts). Prints one row per figure: the
 * median of each side over the rounds, head/base as a ratio oriented so that
 * above 1 is better, and each side's range; writes the same as .txt and
 * .json. A row is marked "slower" when head's median is more than 10% worse
 * and its best round is still worse than base's worst: on a shared two-core
 * machine anything less is within the noise. Exit status 1 if any row is
 * slower or any run failed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The checkout the tool is run from (any folder inside it): its git history and node_modules are used. */
const ROOT = execFileSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();

interface Cli {
  base: string;
  head: string;
  rounds: number;
  only?: string;
  full: boolean;
  out?: string;
}

function parseCli(argv: readonly string[]): Cli {
  const cli: Cli = { base: "HEAD~1", head: "HEAD", rounds: 3, full: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--base") cli.base = value();
    else if (arg === "--head") cli.head = value();
    else if (arg === "--rounds") cli.rounds = Number(value());
    else if (arg === "--only") cli.only = value();
    else if (arg === "--full") cli.full = true;
    else if (arg === "--out") cli.out = value();
    else throw new Error(`unknown option ${arg}`);
  }
  if (!Number.isInteger(cli.rounds) || cli.rounds < 1) throw new Error("--rounds takes a whole number >= 1");
  return cli;
}

const git = (...args: string[]): string => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();

interface Side {
  readonly label: "base" | "head";
  readonly sha: string;
  readonly dir: string;
}

/** A detached worktree of `sha`, sharing this checkout's node_modules, built with its own tsconfig.build.json. */
function checkout(label: Side["label"], sha: string, parent: string): Side {
  const dir = join(parent, label);
  git("worktree", "add", "--detach", "--force", dir, sha);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: dir, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building ${label} (${sha}) failed:\n${build.stdout}${build.stderr}`);
  return { label, sha, dir };
}

/** One figure of one scenario: its id, label, unit and which way is better. */
interface Figure {
  readonly key: string;
  readonly title: string;
  readonly unit: string;
  readonly better: "higher" | "lower";
}

interface ScenarioResult {
  id: string;
  title: string;
  metric: { label: string; unit: string; better: "higher" | "lower" };
  extras?: Record<string, { label: string; unit: string }>;
  summary: Record<string, { value: number; extra: Record<string, number> } | undefined>;
  errors: unknown[];
}

/**
 * Which way is better for an extra figure, from its unit: rates up, times
 * down. Extras in other units (ratios to another implementation, memory,
 * loads) are left out: ratios repeat a main figure against a peer that this
 * tool does not run, and the memory scenarios' main figures already cover
 * memory.
 */
function extraDirection(unit: string): "higher" | "lower" | undefined {
  if (unit === "msg/s") return "higher";
  if (unit === "µs" || unit === "ms") return "lower";
  return undefined;
}

/** Runs the bench of one side once; returns each figure's privateer value, and the failures. */
function runOnce(side: Side, cli: Cli, log: string[]): { values: Map<string, number>; figures: Figure[]; failed: string[] } {
  const args = [join(side.dir, "dist", "bench", "run.js"), "--impl", "privateer"];
  if (!cli.full) args.push("--quick");
  if (cli.only !== undefined) args.push("--only", cli.only);
  const started = Date.now();
  const run = spawnSync(process.execPath, args, { cwd: side.dir, encoding: "utf8", maxBuffer: 64 << 20 });
  log.push(`## ${side.label} ${side.sha.slice(0, 7)} (${((Date.now() - started) / 1000).toFixed(0)} s, exit ${run.status})`, run.stdout, run.stderr);
  const failed: string[] = [];
  if (run.status !== 0) failed.push(`${side.label}: bench exited ${run.status}`);
  const file = join(side.dir, "bench", "results", "partial.json");
  const values = new Map<string, number>();
  const figures: Figure[] = [];
  if (!existsSync(file)) return { values, figures, failed: [...failed, `${side.label}: no partial.json`] };
  const report = JSON.parse(readFileSync(file, "utf8")) as { results: ScenarioResult[] };
  rmSync(file);
  for (const r of report.results) {
    const s = r.summary.privateer;
    if (s === undefined) {
      failed.push(`${side.label}: ${r.id} has no privateer figure`);
      continue;
    }
    figures.push({ key: r.id, title: `${r.title}: ${r.metric.label}`, unit: r.metric.unit, better: r.metric.better });
    values.set(r.id, s.value);
    for (const [name, extra] of Object.entries(r.extras ?? {})) {
      const better = extraDirection(extra.unit);
      if (better === undefined || s.extra[name] === undefined) continue;
      const key = `${r.id}/${name}`;
      figures.push({ key, title: `${r.title}: ${extra.label}`, unit: extra.unit, better });
      values.set(key, s.extra[name]!);
    }
  }
  return { values, figures, failed };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

function main(): void {
  const cli = parseCli(process.argv.slice(2));
  const baseSha = git("rev-parse", `${cli.base}^{commit}`);
  const headSha = git("rev-parse", `${cli.head}^{commit}`);
  const parent = mkdtempSync(join(tmpdir(), "privateer-compare-"));
  const sides: Side[] = [];
  const log: string[] = [];
  try {
    sides.push(checkout("base", baseSha, parent), checkout("head", headSha, parent));
    const samples = { base: new Map<string, number[]>(), head: new Map<string, number[]>() };
    const figures = new Map<string, Figure>();
    const failed: string[] = [];
    for (let round = 0; round < cli.rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        process.stderr.write(`round ${round + 1}/${cli.rounds}: ${side.label} ${side.sha.slice(0, 7)}\n`);
        const once = runOnce(side, cli, log);
        failed.push(...once.failed.map((f) => `round ${round + 1}: ${f}`));
        for (const f of once.figures) figures.set(f.key, f);
        for (const [key, value] of once.values) {
          const list = samples[side.label].get(key) ?? [];
          list.push(value);
          samples[side.label].set(key, list);
        }
      }
    }
    const rows: Record<string, unknown>[] = [];
    const lines = [
      `Privateer ${headSha.slice(0, 7)} (head) against ${baseSha.slice(0, 7)} (base), ${cli.rounds} alternating rounds of ` +
        `\`npm run bench -- ${cli.full ? "" : "--quick "}--impl privateer${cli.only ? ` --only ${cli.only}` : ""}\`, ${new Date().toISOString()}`,
      "ratio: head/base oriented so that > 1 is better; slower: ratio < 0.90 and head's best round worse than base's worst",
      "",
      "| figure | unit | base median | head median | ratio | base range | head range | verdict |",
      "|---|---|---:|---:|---:|---|---|---|",
    ];
    let slower = 0;
    for (const [key, f] of figures) {
      const b = samples.base.get(key) ?? [];
      const h = samples.head.get(key) ?? [];
      if (b.length === 0 || h.length === 0) continue;
      const bm = median(b);
      const hm = median(h);
      const ratio = f.better === "higher" ? hm / bm : bm / hm;
      const headBest = f.better === "higher" ? Math.max(...h) : Math.min(...h);
      const baseWorst = f.better === "higher" ? Math.min(...b) : Math.max(...b);
      const clearlyWorse = f.better === "higher" ? headBest < baseWorst : headBest > baseWorst;
      const verdict = ratio < 0.9 && clearlyWorse ? "slower" : ratio > 1.1 ? "faster" : "same";
      if (verdict === "slower") slower++;
      rows.push({ key, title: f.title, unit: f.unit, better: f.better, base: b, head: h, baseMedian: bm, headMedian: hm, ratio, verdict });
      const range = (xs: number[]): string => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
      lines.push(`| ${f.title} | ${f.unit} | ${fmt(bm)} | ${fmt(hm)} | ${ratio.toFixed(2)} | ${range(b)} | ${range(h)} | ${verdict} |`);
    }
    lines.push("", `${rows.length} figures, ${slower} slower; failures: ${failed.length === 0 ? "none" : failed.join("; ")}`);
    const text = lines.join("\n") + "\n";
    process.stdout.write(text);
    const out = cli.out ?? join(ROOT, "bench", "results", `compare-${baseSha.slice(0, 7)}-${headSha.slice(0, 7)}`);
    writeFileSync(`${out}.txt`, text + "\n# raw output of every run\n\n" + log.join("\n"));
    writeFileSync(`${out}.json`, JSON.stringify({ base: baseSha, head: headSha, rounds: cli.rounds, full: cli.full, rows, failed }, null, 2) + "\n");
    if (slower > 0 || failed.length > 0) process.exitCode = 1;
  } finally {
    for (const side of sides) {
      try {
        git("worktree", "remove", "--force", side.dir);
      } catch {
        // Left behind: `git worktree prune` clears it once the folder is gone.
      }
    }
    rmSync(parent, { recursive: true, force: true });
    git("worktree", "prune");
  }
}

main();
