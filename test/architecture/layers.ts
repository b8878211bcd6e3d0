/**
 * The layering rule of docs/architecture.md as code: every relative import in
 * src/ and patterns/ goes to the same folder or to a lower layer, and
 * patterns reach src/ only through its public entry point and the few
 * utilities the document names. Reads files as text; a file map can be
 * passed instead of the disk so the rule can be shown to catch a breach.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative, sep } from "node:path";

/** One layer: the path prefixes (relative to the repository, posix) that belong to it, lowest layer first. */
export interface Layer {
  readonly name: string;
  readonly paths: readonly string[];
}

/** The layers of src/, lowest first; a file belongs to the layer with its longest matching prefix. */
export const CORE_LAYERS: readonly Layer[] = [
  { name: "foundation", paths: ["src/errors.ts", "src/log.ts", "src/util/"] },
  { name: "codec", paths: ["src/codec/"] },
  { name: "crypto", paths: ["src/security/curve/"] },
  { name: "engine", paths: ["src/engine/"] },
  { name: "pipe", paths: ["src/pipe/"] },
  { name: "transport", paths: ["src/transport/"] },
  { name: "routing", paths: ["src/routing/"] },
  { name: "socket", paths: ["src/socket/"] },
  { name: "socket types", paths: ["src/socket-types/"] },
  { name: "authentication", paths: ["src/security/"] },
  { name: "core entry", paths: ["src/index.ts"] },
];

/**
 * The pattern folders, lowest first. Folders of one rank are siblings: each
 * family stands on `shared` alone, so one family never imports another of
 * its rank.
 */
export const PATTERN_RANKS: readonly (readonly string[])[] = [
  ["patterns/shared/"],
  ["patterns/pirate/", "patterns/binary-star/", "patterns/exactly-once/"],
  ["patterns/majordomo/"],
  ["patterns/metrics/"],
  ["patterns/cli/"],
  ["patterns/index.ts", "patterns/internal.ts"],
];

/** What patterns may import from src/: the public entry point and the utilities docs/architecture.md lists. */
export const PATTERN_CORE_IMPORTS: readonly string[] = [
  "src/index.ts",
  "src/errors.ts",
  "src/log.ts",
  "src/util/",
  "src/codec/metadata.ts",
];

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']*)["']/gm;

/** The relative module specifiers a source text imports (static, dynamic, require, side-effect). */
export function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT)) found.push(match[1]!);
  return found;
}

/** Resolves `spec` imported by `file` to a file of `files` (tried as .ts, then as a folder's index.ts). */
function resolveImport(file: string, spec: string, files: ReadonlySet<string>): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(file), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) if (files.has(candidate)) return candidate;
  return undefined;
}

function longestPrefix(path: string, prefixes: readonly string[]): number {
  let best = -1;
  for (const p of prefixes) if (path === p || (p.endsWith("/") && path.startsWith(p))) best = Math.max(best, p.length);
  return best;
}

/** The index of the layer `path` belongs to, and the prefix that decided it; undefined if none. */
function coreLayerOf(path: string): { rank: number; prefix: string } | undefined {
  let found: { rank: number; prefix: string } | undefined;
  let length = -1;
  CORE_LAYERS.forEach((layer, rank) => {
    for (const p of layer.paths) {
      const l = longestPrefix(path, [p]);
      if (l > length) {
        length = l;
        found = { rank, prefix: p };
      }
    }
  });
  return found;
}

function patternRankOf(path: string): { rank: number; prefix: string } | undefined {
  for (let rank = 0; rank < PATTERN_RANKS.length; rank++) {
    for (const p of PATTERN_RANKS[rank]!) if (longestPrefix(path, [p]) >= 0) return { rank, prefix: p };
  }
  return undefined;
}

/** Checks every relative import of the files given (path -> text, posix paths relative to the repository). */
export function checkLayers(sources: ReadonlyMap<string, string>): Violation[] {
  const files = new Set(sources.keys());
  const violations: Violation[] = [];
  for (const [from, text] of sources) {
    for (const spec of relativeImports(text)) {
      const to = resolveImport(from, spec, files);
      if (to === undefined) {
        if (!spec.endsWith(".json")) violations.push({ from, to: spec, why: "import does not resolve to a file in src/ or patterns/" });
        continue;
      }
      violations.push(...checkEdge(from, to));
    }
  }
  return violations;
}

function checkEdge(from: string, to: string): Violation[] {
  if (from.startsWith("src/")) {
    if (!to.startsWith("src/")) return [{ from, to, why: "the core imports from outside src/" }];
    const a = coreLayerOf(from);
    const b = coreLayerOf(to);
    if (a === undefined || b === undefined) return [{ from, to, why: "file in no layer of CORE_LAYERS" }];
    if (b.rank > a.rank) {
      return [{ from, to, why: `upward: ${CORE_LAYERS[a.rank]!.name} imports ${CORE_LAYERS[b.rank]!.name}` }];
    }
    return [];
  }
  if (from.startsWith("patterns/")) {
    if (to.startsWith("src/")) {
      return longestPrefix(to, PATTERN_CORE_IMPORTS) >= 0
        ? []
        : [{ from, to, why: "a pattern reaches inside the core instead of using its public API" }];
    }
    const a = patternRankOf(from);
    const b = patternRankOf(to);
    if (a === undefined || b === undefined) return [{ from, to, why: "file in no rank of PATTERN_RANKS" }];
    if (b.rank > a.rank) return [{ from, to, why: `upward: ${a.prefix} imports ${b.prefix}` }];
    if (b.rank === a.rank && b.prefix !== a.prefix) return [{ from, to, why: `sideways: ${a.prefix} imports its sibling ${b.prefix}` }];
    return [];
  }
  return [];
}

/** Every .ts file under `folders` of the repository at `root`, as posix path -> text. */
export function readSources(root: string, folders: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) {
        out.set(relative(root, full).split(sep).join("/"), readFileSync(full, "utf8"));
      }
    }
  };
  for (const folder of folders) walk(join(root, folder));
  return out;
}

export const repositoryRoot = (): string => dirname(dirname(__dirname));
