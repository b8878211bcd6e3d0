/**
 * The package as a user gets it: `npm pack` (which runs `prepare`, the build),
 * the tarball installed into an empty project outside the repository, then
 * imported by name from CommonJS, from ES modules and from TypeScript in both
 * module modes, and the README's patterns example compiled and run against it.
 *
 * The names checked are the ones the documentation imports: every
 * `import { ... } from "privateer"` (or "privateer/internal") in README.md,
 * docs/ and examples/, so a documented name that the package does not export
 * fails here.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = resolve(__dirname, "../..");
const tsc = join(repo, "node_modules/typescript/bin/tsc");

/** Internal names that must stay off the main entry (and be on privateer/internal). */
const INTERNALS = [
  "BrokerEngine",
  "dealerLink",
  "encodeClientCommand",
  "decodeWorkerCommand",
  "decodeInbound",
  "HEADER",
  "WORKER_01",
  "CLIENT_02",
  "errorFromReply",
  "errorReplyBody",
  "LruQueue",
  "PPP_READY",
  "pppCommand",
] as const;

interface Imports {
  values: Set<string>;
  types: Set<string>;
}

/** Every file under `dir` whose name ends with `suffix`, skipping node_modules and build output. */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, suffix));
    else if (entry.endsWith(suffix)) out.push(path);
  }
  return out;
}

/** The user-facing sources: the README, the docs and the examples. */
function documentationFiles(): string[] {
  return [join(repo, "README.md"), ...filesUnder(join(repo, "docs"), ".md"), ...filesUnder(join(repo, "examples"), ".ts")];
}

/** Named imports from "privateer" and "privateer/internal" in the documentation, split into values and types. */
function documentedImports(): Record<"privateer" | "privateer/internal", Imports> {
  const found = {
    privateer: { values: new Set<string>(), types: new Set<string>() },
    "privateer/internal": { values: new Set<string>(), types: new Set<string>() },
  };
  const pattern = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*"(privateer(?:\/internal)?)"/g;
  for (const file of documentationFiles()) {
    for (const match of readFileSync(file, "utf8").matchAll(pattern)) {
      const target = found[match[3] as keyof typeof found];
      for (const raw of match[2]!.split(",")) {
        const spec = raw.trim();
        if (spec === "") continue;
        const typeOnly = match[1] !== undefined || spec.startsWith("type ");
        const name = spec.replace(/^type\s+/, "").split(/\s+as\s+/)[0]!.trim();
        (typeOnly ? target.types : target.values).add(name);
      }
    }
  }
  return found;
}

/** The ```ts blocks of a markdown text. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Runs a command; on failure the error carries its output, so the jest report says what went wrong. */
async function sh(file: string, args: string[], cwd: string, timeout = 180_000): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

const docs = documentedImports();
const mainValues = [...docs.privateer.values].sort();
const quickstart = readFileSync(join(repo, "examples/quickstart.ts"), "utf8");

let work: string;
let app: string;
let tarballEntries: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "privateer-pack-"));
  // npm pack runs `prepare` (the build) first: this is what `npm install <git url>` does too.
  await sh("npm", ["pack", "--pack-destination", work, "--loglevel=error"], repo, 240_000);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  tarballEntries = (await sh("tar", ["-tzf", join(work, tarball)], work)).split("\n").filter((l) => l !== "");

  app = join(work, "app");
  mkdirSync(join(app, "esm"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  const typesNode = JSON.parse(readFileSync(join(repo, "node_modules/@types/node/package.json"), "utf8")) as {
    version: string;
  };
  // rxjs is not named: npm installs the peer dependency by itself.
  await sh(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(work, tarball), `@types/node@${typesNode.version}`],
    app,
    240_000,
  );
}, 600_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("documentation", () => {
  it("imports the package by name, never the repository's folders", () => {
    const relativeImports = documentationFiles().flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/from\s*"(\.{1,2}\/[^"]*)"/g)]
        .map((m) => m[1]!)
        .filter((path) => /(^|\/)(src|patterns)(\/|$)/.test(path))
        .map((path) => `${relative(repo, file)}: ${path}`),
    );
    expect(relativeImports).toEqual([]);
    // The scan finds the documented names, so the checks below cover something.
    expect(mainValues).toEqual(expect.arrayContaining(["Dealer", "Router", "MajordomoBroker", "LazyPirateClient"]));
  });

  it("shows examples/quickstart.ts verbatim as the README's patterns example", () => {
    expect(tsBlocks(readFileSync(join(repo, "README.md"), "utf8"))).toContain(quickstart);
  });
});

describe("the packed tarball", () => {
  it("holds both entries, their declarations and the built library, and nothing test-only or dangling", () => {
    for (const needed of [
      "package/package.json",
      "package/README.md",
      "package/dist/index.js",
      "package/dist/index.d.ts",
      "package/dist/internal.js",
      "package/dist/internal.d.ts",
      "package/dist/src/index.js",
      "package/dist/patterns/index.d.ts",
      "package/dist/patterns/majordomo/broker.js",
      "package/dist/patterns/exactly-once/index.js",
      "package/dist/patterns/exactly-once/index.d.ts",
    ]) {
      expect(tarballEntries).toContain(needed);
    }
    const unwanted = tarballEntries.filter(
      (entry) =>
        /^package\/(dist\/)?(test|examples|bench|chaos)\//.test(entry) ||
        (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) ||
        // Source maps point at .ts sources the package does not ship.
        entry.endsWith(".map"),
    );
    expect(unwanted).toEqual([]);
  });

  it("declares rxjs as a peer dependency, so the application and Privateer share one copy", async () => {
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/privateer/package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    expect(manifest.dependencies?.rxjs).toBeUndefined();
    expect(manifest.peerDependencies?.rxjs).toMatch(/^\^7\.8/);
    writeFileSync(
      join(app, "peer.cjs"),
      `const { Observable } = require("rxjs");
const { MajordomoClient } = require("privateer");
const fromPrivateer = require.resolve("rxjs", { paths: [require.resolve("privateer")] });
const client = new MajordomoClient({ broker: "tcp://127.0.0.1:1" });
console.log(JSON.stringify({
  sameCopy: fromPrivateer === require.resolve("rxjs"),
  observable: client.request("echo", "x") instanceof Observable,
}));
client.close();
`,
    );
    expect(JSON.parse(await sh("node", ["peer.cjs"], app))).toEqual({ sameCopy: true, observable: true });
  });
});

describe("the installed package", () => {
  it("gives CommonJS every documented name, and the internals only through privateer/internal", async () => {
    writeFileSync(
      join(app, "check.cjs"),
      `const main = require("privateer");
const internal = require("privateer/internal");
const documented = ${JSON.stringify(mainValues)};
const internals = ${JSON.stringify(INTERNALS)};
console.log(JSON.stringify({
  missing: documented.filter((name) => main[name] === undefined),
  leaked: internals.filter((name) => name in main),
  notInternal: internals.filter((name) => internal[name] === undefined),
  publicMissingFromInternal: Object.keys(main).filter((name) => internal[name] !== main[name]),
}));
`,
    );
    expect(JSON.parse(await sh("node", ["check.cjs"], app))).toEqual({
      missing: [],
      leaked: [],
      notInternal: [],
      publicMissingFromInternal: [],
    });
  });

  it("gives ES modules every documented name as a named import, and every CommonJS export", async () => {
    // A named import that Node's CommonJS analysis cannot see fails when the module links, before any output.
    writeFileSync(
      join(app, "check.mjs"),
      `import { ${mainValues.join(", ")} } from "privateer";
import * as main from "privateer";
import { ${INTERNALS.join(", ")} } from "privateer/internal";
import { createRequire } from "node:module";
const cjs = createRequire(import.meta.url)("privateer");
console.log(JSON.stringify({
  undefinedNamed: Object.entries({ ${mainValues.join(", ")} }).filter(([, v]) => v === undefined).map(([k]) => k),
  undefinedInternal: Object.entries({ ${INTERNALS.join(", ")} }).filter(([, v]) => v === undefined).map(([k]) => k),
  notInEsm: Object.keys(cjs).filter((name) => main[name] !== cjs[name]),
}));
`,
    );
    expect(JSON.parse(await sh("node", ["check.mjs"], app))).toEqual({
      undefinedNamed: [],
      undefinedInternal: [],
      notInEsm: [],
    });
  });

  it("loads privateer/exactly-once without its optional drivers, replays a duplicate, and names a missing driver", async () => {
    // The temporary project has neither better-sqlite3 nor pg: importing must not need them.
    writeFileSync(
      join(app, "once.cjs"),
      `const { MemoryStore, handleOnce, openSqliteStore, ExactlyOnceError } = require("privateer/exactly-once");
const main = require("privateer");
(async () => {
  const store = new MemoryStore();
  let runs = 0;
  const handler = (body) => { runs += 1; return [Buffer.from("done " + body[0])]; };
  const first = await handleOnce(store, { id: "r1", body: [Buffer.from("a")] }, handler);
  const again = await handleOnce(store, { id: "r1", body: [Buffer.from("a")] }, handler);
  let missing;
  try { openSqliteStore({ path: "x.db" }); } catch (error) {
    missing = { typed: error instanceof ExactlyOnceError, reason: error.reason };
  }
  console.log(JSON.stringify({
    runs, first: first.reply[0].toString(), replayed: again.replayed, again: again.reply[0].toString(), missing,
    onMain: "MemoryStore" in main,
  }));
})();
`,
    );
    expect(JSON.parse(await sh("node", ["once.cjs"], app))).toEqual({
      runs: 1,
      first: "done a",
      replayed: true,
      again: "done a",
      missing: { typed: true, reason: "driver-missing" },
      onMain: false,
    });
  });

  /** A TypeScript file importing every documented name, values and types, plus the internals. */
  function typescriptConsumer(): string {
    const typeNames = [...docs.privateer.types].filter((name) => !docs.privateer.values.has(name)).sort();
    return `import { ${[...mainValues, ...typeNames.map((t) => `type ${t}`)].join(", ")} } from "privateer";
import { ${INTERNALS.join(", ")} } from "privateer/internal";

const values: Record<string, unknown> = { ${mainValues.join(", ")} };
const internals: Record<string, unknown> = { ${INTERNALS.join(", ")} };
console.log(JSON.stringify([...Object.entries(values), ...Object.entries(internals)].filter(([, v]) => v === undefined).map(([k]) => k)));
`;
  }

  const compilerOptions = {
    target: "ES2022",
    strict: true,
    types: ["node"],
    // Our declarations are part of what is checked.
    skipLibCheck: false,
  };

  it.each([
    ["commonjs", ".", { module: "commonjs", esModuleInterop: true }],
    ["nodenext with type: module", "esm", { module: "nodenext" }],
  ])("type-checks and runs a TypeScript consumer (%s), including the README example", async (_mode, dir, options) => {
    const project = join(app, dir);
    if (dir === "esm") writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(project, "consumer.ts"), typescriptConsumer());
    writeFileSync(join(project, "quickstart.ts"), quickstart);
    // Type-checked only, never run: if the main entry exported the engine, the directive would be unused (TS2578).
    writeFileSync(
      join(project, "not-public.ts"),
      `// @ts-expect-error the broker engine is internal
import { BrokerEngine } from "privateer";
export const engine: unknown = BrokerEngine;
`,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, ...options },
        files: ["consumer.ts", "quickstart.ts", "not-public.ts"],
      }),
    );
    await sh("node", [tsc, "-p", "tsconfig.json"], project);
    expect(JSON.parse(await sh("node", ["consumer.js"], project))).toEqual([]);
    // The README's example: broker, worker and client over tcp on 127.0.0.1, then a clean exit.
    expect(await sh("node", ["quickstart.js"], project, 30_000)).toBe("echo: hello\n");
  }, 240_000);
});
