import { measurementProblem } from "./checks";
import type { ImplName } from "./lib";
import { PeerProcess } from "./peer-process";
import { encodeParams, type Params } from "./protocol";
import type { Measurement, RunContext, Scenario, SideTarget, Summary, Unreported } from "./scenario";
import { median } from "./stats";

/**
 * A deliberate fault, to prove that a run fails when it should. Set with
 * BENCH_FAULT=<kind>:<word> (a bare <word> means "error"); it applies to
 * the scenarios whose id contains the word.
 *  - "error": every run of the scenario throws instead of measuring.
 *  - "size": every peer started with a `size` parameter sends messages one
 *    byte longer than the receivers expect (their `expect` is left alone).
 * A fault that no run of the scenario caught is reported as an error of
 * the scenario: either way the run fails, and the message says which.
 */
export interface Fault {
  readonly kind: "error" | "size";
  readonly scenario: string;
}

export function parseFault(spec: string | undefined): Fault | undefined {
  if (spec === undefined || spec === "") return undefined;
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? "error" : spec.slice(0, colon);
  const scenario = colon < 0 ? spec : spec.slice(colon + 1);
  if ((kind !== "error" && kind !== "size") || scenario === "") {
    throw new Error(`BENCH_FAULT=${spec}: expected error:<scenario> or size:<scenario>`);
  }
  return { kind, scenario };
}

function describeFault(fault: Fault): string {
  return `BENCH_FAULT=${fault.kind}:${fault.scenario}`;
}

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
  readonly fault?: Fault;
}

export interface ScenarioResult {
  id: string;
  title: string;
  metric: Scenario["metric"];
  extras: NonNullable<Scenario["extras"]>;
  target?: { kind: "ratio" | "limit"; text: string };
  /** Present only for scenarios that declare side targets; `met` is undefined when Privateer has no figure. */
  sideTargets?: { figure: string; text: string; met?: boolean; versus?: Exclude<ImplName, "privateer">; ratio?: number }[];
  chartSize?: number;
  inTable: boolean;
  rounds: number;
  /** The implementations that were to run: each must end with a figure. */
  impls: ImplName[];
  unreported: Partial<Record<ImplName, Unreported>>;
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
  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {}

  step(what: string): void {
    this.done++;
    const secs = Math.round((Date.now() - this.started) / 1000);
    const clock = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
    const line = `[${String(this.done).padStart(3)}/${this.total} ${clock}] ${what}`;
    if (this.out.isTTY) this.out.write(`\r\x1b[K${line}`);
    else this.out.write(`${line}\n`);
  }

  note(text: string): void {
    if (this.out.isTTY) this.out.write("\r\x1b[K");
    this.out.write(`${text}\n`);
  }

  finish(): void {
    if (this.out.isTTY) this.out.write("\r\x1b[K");
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
  const fault = config.fault && scenario.id.includes(config.fault.scenario) ? config.fault : undefined;
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
          const sent = fault?.kind === "size" && typeof params.size === "number" ? { ...params, size: params.size + 1 } : params;
          const peer = spawnPeer(config, scenario.id, impl, role, sent, round, as);
          peers.push(peer);
          return peer;
        },
      };
      try {
        if (fault?.kind === "error") throw new Error(`injected fault (${describeFault(fault)})`);
        const measurement = await scenario.measure(ctx);
        // A NaN or a zero rate in the medians would print as a figure, or vanish from them, unnoticed.
        const problem = measurementProblem(scenario, impl, measurement);
        if (problem) throw new Error(problem);
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
  if (fault && errors.length === 0) {
    const message = `${describeFault(fault)} was injected and no run failed: this scenario does not detect it`;
    errors.push(message);
    progress.note(`  ! ${scenario.id}: ${message}`);
  }
  return summarise(scenario, rounds, impls, samples, errors);
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
  impls: ImplName[],
  samples: Partial<Record<ImplName, Measurement[]>>,
  errors: string[],
): ScenarioResult {
  for (const t of scenario.sideTargets ?? []) {
    // A misspelt figure would otherwise show as a verdict of "n/a" in every run.
    if (!(t.figure in (scenario.extras ?? {}))) errors.push(`side target "${t.text}" names ${t.figure}, which is not one of the scenario's extras`);
  }
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
    ...(scenario.sideTargets && {
      sideTargets: scenario.sideTargets.map((t) => {
        const ratio = t.versus === undefined ? undefined : sideRatio(t.figure, summary.privateer, summary[t.versus]);
        return {
          figure: t.figure,
          text: t.text,
          met: sideTargetMet(t, t.versus === undefined ? summary.privateer?.extra[t.figure] : ratio),
          ...(t.versus !== undefined && { versus: t.versus, ratio }),
        };
      }),
    }),
    chartSize: scenario.chartSize,
    inTable: scenario.inTable,
    rounds,
    impls,
    unreported: { ...scenario.unreported },
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

/** Privateer's median of a side figure over another implementation's; undefined when either is missing. */
function sideRatio(figure: string, privateer: Summary | undefined, other: Summary | undefined): number | undefined {
  const mine = privateer?.extra[figure];
  const theirs = other?.extra[figure];
  if (mine === undefined || theirs === undefined || !Number.isFinite(mine) || !Number.isFinite(theirs) || theirs === 0) return undefined;
  return mine / theirs;
}

/** The verdict on the value a side target bounds (the figure, or its ratio to another implementation's). */
function sideTargetMet(target: SideTarget, value: number | undefined): boolean | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  return (target.atLeast === undefined || value >= target.atLeast) && (target.atMost === undefined || value <= target.atMost);
}
