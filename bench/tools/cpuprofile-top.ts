/**
 * Top self-time functions of V8 CPU profiles (as written by `node --cpu-prof`,
 * or by `npm run bench -- --cpu-prof`):
 *
 *   node dist/bench/tools/cpuprofile-top.js <file.cpuprofile | directory> [--top 25] [--match privateer]
 *
 * Self time is what a function spent in its own code, not in callees: the
 * list that says where cycles go. "(idle)" is time the thread waited for I/O
 * and is left out of the percentages, which are of busy time.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  /** Share of busy (non-idle) time, 0..100. */
  percent: number;
}

const ROOT = resolve(__dirname, "..", "..", "..");

export function selfTimes(profile: Profile): { busyMs: number; idleMs: number; top: SelfTime[] } {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byNode.get(profile.samples[i]!);
    // V8 records the gap before a sample: attributing it to that sample is the profiler's own convention.
    const us = profile.timeDeltas[i] ?? 0;
    if (!node) continue;
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
    const name = frame.functionName || "(anonymous)";
    const key = `${name} ${where}`;
    const entry = totals.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    totals.set(key, entry);
  }
  const top = [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, percent: busyUs > 0 ? (100 * e.us) / busyUs : 0 }));
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, top };
}

function shortUrl(url: string): string {
  const path = url.startsWith("file://") ? url.slice("file://".length) : url;
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

function files(target: string, match: string | undefined): string[] {
  const list = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((f) => f.endsWith(".cpuprofile"))
        .sort()
        .map((f) => join(target, f))
    : [target];
  return match ? list.filter((f) => basename(f).includes(match)) : list;
}

function main(): void {
  const args = process.argv.slice(2);
  let top = 25;
  let match: string | undefined;
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--top") top = Number(args[++i]);
    else if (args[i] === "--match") match = args[++i];
    else targets.push(args[i]!);
  }
  if (targets.length === 0) {
    process.stderr.write("usage: cpuprofile-top <file.cpuprofile | directory> [--top N] [--match text]\n");
    process.exit(2);
  }
  for (const target of targets) {
    for (const file of files(target, match)) {
      const { busyMs, idleMs, top: list } = selfTimes(JSON.parse(readFileSync(file, "utf8")) as Profile);
      process.stdout.write(`\n${basename(file)}: busy ${busyMs.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms\n`);
      process.stdout.write("  self%    self ms  function (file:line)\n");
      for (const e of list.slice(0, top)) {
        process.stdout.write(`  ${e.percent.toFixed(1).padStart(5)}  ${e.ms.toFixed(1).padStart(9)}  ${e.name}${e.where ? ` (${e.where})` : ""}\n`);
      }
    }
  }
}

if (require.main === module) main();
