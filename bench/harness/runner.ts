import type { ImplName } from "./lib";
import { PeerProcess } from "./peer-process";
import { encodeParams, type Params } from "./protocol";
import type { Measurement, RunContext, Scenario, Summary } from "./scenario";
import { median } from "./stats";

export interface RunnerConfig {
  readonly quick: boolean;
  /** Implementations to run, the native one only when it was built. */
  readonly impls: readonly ImplName[];
  readonly nativeBinary?: string;
  /** dist/bench/peer.js */
  readonly peerScript: string;
  /** When set, Node peers of the libraries (not the stubs) write V8 CPU profiles here. */
  readonly cpuProfDir?: string;
  /** Overrides every scenario's round count (profiling wants one). */
  readonly rounds?: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  metric: Scenario["metric"];
  extras: NonNullable<Scenario["extras"]>;
  target?: { kind: "ratio" | "limit"; text: string };
  chartSize?: number;
  inTable: boolean;
  rounds: number;
  samples: Partial<Record<ImplName, Measurement[]>>;
  summary: Partial<Record<ImplName, Summary>>;
  /** Privateer's median divided by the other implementation's. */
  ratio: Partial<Record<Exclude<ImplName, "privateer">, number>>;
  met?: boolean;
  errors: string[];
}

/** One line that rewrites itself on a terminal and otherwise prints as a log. */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  constructor(private readonly total: number) {}

  step(what: string): void {
    this.done++;
    const secs = Math.round((Date.now() - this.started) / 1000);
    const clock = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
    const line = `[${String(this.done).padStart(3)}/${this.total} ${clock}] ${what}`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  note(text: string): void {
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
    process.stderr.write(`${text}\n`);
  }

  finish(): void {
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  }
}

export function roundsOf(scenario: Scenario, config: RunnerConfig): number {
  return config.rounds ?? (config.quick ? scenario.rounds.quick : scenario.rounds.full);
}

export function implsOf(scenario: Scenario, config: RunnerConfig): ImplName[] {
  return scenario.impls.filter((impl) => config.impls.includes(impl));
}

/**
 * Runs a scenario for several rounds, each round visiting every
 * implementation in an order rotated by one, so that neither drift in the
 * machine's load nor "who ran first" favours one of them.
 */
export async function runScenario(scenario: Scenario, config: RunnerConfig, progress: Progress): Promise<ScenarioResult> {
  const impls = implsOf(scenario, config);
  const rounds = roundsOf(scenario, config);
  const samples: Partial<Record<ImplName, Measurement[]>> = {};
  const errors: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < impls.length; k++) {
      const impl = impls[(k + round) % impls.length]!;
      progress.step(`${scenario.title} · ${impl} · round ${round + 1}/${rounds}`);
      const peers: PeerProcess[] = [];
      const ctx: RunContext = {
        impl,
        quick: config.quick,
        peer: (role, params, as) => {
          const peer = spawnPeer(config, scenario.id, impl, role, params, round, as);
          peers.push(peer);
          return peer;
        },
      };
      try {
        const measurement = await scenario.measure(ctx);
        (samples[impl] ??= []).push(measurement);
      } catch (error) {
        const message = `${impl}, round ${round + 1}: ${(error as Error).message}`;
        errors.push(message);
        progress.note(`  ! ${scenario.id}: ${message}`);
      } finally {
        await Promise.all(peers.map((peer) => peer.stop()));
      }
    }
  }
  return summarise(scenario, rounds, samples, errors);
}

function spawnPeer(
  config: RunnerConfig,
  scenarioId: string,
  impl: ImplName,
  role: string,
  params: Params,
  round: number,
  as: "stub" | undefined,
): PeerProcess {
  const rest = [role, ...encodeParams(params)];
  if (as === "stub") return new PeerProcess(`stub/${role}`, process.execPath, [config.peerScript, "stub", ...rest]);
  if (impl === "libzmq") {
    if (!config.nativeBinary) throw new Error("native peer not built");
    return new PeerProcess(`libzmq/${role}`, config.nativeBinary, rest);
  }
  // --expose-gc: memory figures are taken after full collections.
  const flags = ["--expose-gc"];
  if (config.cpuProfDir) {
    flags.push("--cpu-prof", `--cpu-prof-dir=${config.cpuProfDir}`, `--cpu-prof-name=${scenarioId}.${impl}.${role}.r${round + 1}.cpuprofile`);
  }
  return new PeerProcess(`${impl}/${role}`, process.execPath, [...flags, config.peerScript, impl, ...rest]);
}

function summarise(
  scenario: Scenario,
  rounds: number,
  samples: Partial<Record<ImplName, Measurement[]>>,
  errors: string[],
): ScenarioResult {
  const summary: Partial<Record<ImplName, Summary>> = {};
  for (const [impl, list] of Object.entries(samples) as [ImplName, Measurement[]][]) {
    const extra: Record<string, number> = {};
    for (const key of Object.keys(list[0]?.extra ?? {})) extra[key] = median(list.map((m) => m.extra?.[key] ?? Number.NaN));
    summary[impl] = { value: median(list.map((m) => m.value)), extra };
  }
  const mine = summary.privateer?.value;
  const ratio: ScenarioResult["ratio"] = {};
  for (const other of ["zeromq.js", "libzmq"] as const) {
    const theirs = summary[other]?.value;
    if (mine !== undefined && theirs !== undefined && Number.isFinite(mine) && Number.isFinite(theirs) && theirs !== 0) {
      ratio[other] = mine / theirs;
    }
  }
  return {
    id: scenario.id,
    title: scenario.title,
    metric: scenario.metric,
    extras: scenario.extras ?? {},
    target: scenario.target && { kind: scenario.target.kind, text: scenario.target.text },
    chartSize: scenario.chartSize,
    inTable: scenario.inTable,
    rounds,
    samples,
    summary,
    ratio,
    met: targetMet(scenario, summary, ratio),
    errors,
  };
}

function targetMet(
  scenario: Scenario,
  summary: Partial<Record<ImplName, Summary>>,
  ratio: ScenarioResult["ratio"],
): boolean | undefined {
  const target = scenario.target;
  if (!target) return undefined;
  if (target.kind === "limit") return summary.privateer ? target.met(summary.privateer) : undefined;
  const r = ratio["zeromq.js"];
  if (r === undefined) return undefined;
  return (target.atLeast === undefined || r >= target.atLeast) && (target.atMost === undefined || r <= target.atMost);
}
