import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { History } from "./driver";

/** One execution of a request by a worker, as the worker recorded it before doing the work. */
export interface Effect {
  readonly id: string;
  readonly worker: string;
  readonly seq: number;
}

export interface Effects {
  readonly effects: Effect[];
  /** Lines that do not parse; a torn write would show up here. */
  readonly malformed: string[];
}

/** Reads every worker's effects file (one per container incarnation). */
export function readEffects(dir: string): Effects {
  const effects: Effect[] = [];
  const malformed: string[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".effects")).sort()) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (line === "") continue;
      const match = /^(\S+) (\S+) (\d+)$/.exec(line);
      if (match) effects.push({ id: match[1]!, worker: match[2]!, seq: Number(match[3]) });
      else malformed.push(`${file}: ${line}`);
    }
  }
  return { effects, malformed };
}

/**
 * The engineering notes' section 4, applied to one run. Sets are of request
 * ids. "Observed" means some worker recorded executing it.
 */
export interface Verdict {
  attempted: number;
  acknowledged: number;
  failed: number;
  failedBy: Record<string, number>;
  /** Failed with something other than the library's typed error. Must be empty. */
  untypedFailures: number[];
  /** Neither replied nor failed within the hang limit. Must be empty. */
  hung: number[];
  /** Distinct attempted ids executed at least once. */
  observed: number;
  /** Acknowledged but never observed. Must be empty. */
  lost: number[];
  /** The application saw more than one reply for the request. Must be empty. */
  duplicatedReplies: number[];
  /** A request was answered with the reply of another request. Must be empty. */
  misdelivered: number[];
  /** A reply names an execution (worker, seq, id) that no effects file holds. Must be empty. */
  unbackedReplies: number[];
  /** Observed but never attempted. Must be empty. */
  unexpected: string[];
  /** Outcome unknown to the client (failed or hung) yet observed: the effect happened anyway. */
  recovered: number[];
  /** Failed and never executed: a clean, honest failure. */
  cleanFailures: number;
  /** How many attempted requests were executed 0, 1, 2 and 3+ times. */
  executions: { never: number; once: number; twice: number; more: number };
  /** At-least-once in action: requests executed more than once (allowed, reported). */
  executedMoreThanOnce: number[];
  /**
   * Acknowledged, executed more than once, and never resent by its client: a
   * second execution nobody but the broker can have caused. This is the
   * evidence that a broker requeue recovered a request, independent of what
   * the broker says about itself.
   */
  reexecutedWithoutRetry: number[];
  /** Acknowledged after the client resent it at least once: recovery done by the client. */
  ackedAfterRetry: number;
  malformedEffects: string[];
}

export function check(history: History, { effects, malformed }: Effects): Verdict {
  const executions = new Map<string, number>();
  const executionKeys = new Set<string>();
  for (const effect of effects) {
    executions.set(effect.id, (executions.get(effect.id) ?? 0) + 1);
    executionKeys.add(`${effect.id} ${effect.worker} ${effect.seq}`);
  }
  const attemptedIds = new Set([...history.requests.keys()].map(String));
  const repliesPerId = new Map<string, number>();
  const verdict: Verdict = {
    attempted: history.requests.size,
    acknowledged: 0,
    failed: 0,
    failedBy: {},
    untypedFailures: [],
    hung: [],
    observed: 0,
    lost: [],
    duplicatedReplies: [],
    misdelivered: [],
    unbackedReplies: [],
    unexpected: [],
    recovered: [],
    cleanFailures: 0,
    executions: { never: 0, once: 0, twice: 0, more: 0 },
    executedMoreThanOnce: [],
    reexecutedWithoutRetry: [],
    ackedAfterRetry: 0,
    malformedEffects: malformed,
  };

  for (const record of history.requests.values()) {
    const key = String(record.id);
    const count = executions.get(key) ?? 0;
    if (count > 0) verdict.observed += 1;
    if (count === 0) verdict.executions.never += 1;
    else if (count === 1) verdict.executions.once += 1;
    else if (count === 2) verdict.executions.twice += 1;
    else verdict.executions.more += 1;
    if (count > 1) verdict.executedMoreThanOnce.push(record.id);

    for (const reply of record.replies) {
      repliesPerId.set(reply.id, (repliesPerId.get(reply.id) ?? 0) + 1);
      if (reply.id !== key) verdict.misdelivered.push(record.id);
      if (!executionKeys.has(`${reply.id} ${reply.worker} ${reply.seq}`)) verdict.unbackedReplies.push(record.id);
    }

    switch (record.outcome) {
      case "ok":
        verdict.acknowledged += 1;
        if (count === 0) verdict.lost.push(record.id);
        if (record.retries > 0) verdict.ackedAfterRetry += 1;
        else if (count > 1) verdict.reexecutedWithoutRetry.push(record.id);
        break;
      case "failed": {
        verdict.failed += 1;
        const reason = record.error?.reason ?? "unknown";
        verdict.failedBy[reason] = (verdict.failedBy[reason] ?? 0) + 1;
        if (!record.error?.typed) verdict.untypedFailures.push(record.id);
        if (count > 0) verdict.recovered.push(record.id);
        else verdict.cleanFailures += 1;
        break;
      }
      case "hung":
      case "pending":
        verdict.hung.push(record.id);
        if (count > 0) verdict.recovered.push(record.id);
        break;
    }
  }
  for (const [id, count] of repliesPerId) if (count > 1) verdict.duplicatedReplies.push(Number(id));
  for (const id of executions.keys()) if (!attemptedIds.has(id)) verdict.unexpected.push(id);
  return verdict;
}

/** The properties every schedule must keep; an empty list means the run passed. */
export function violations(verdict: Verdict): string[] {
  const problems: string[] = [];
  const list = (ids: ReadonlyArray<number | string>): string =>
    ids.slice(0, 10).join(",") + (ids.length > 10 ? ",..." : "");
  if (verdict.lost.length) problems.push(`lost (acknowledged, never executed): ${list(verdict.lost)}`);
  if (verdict.duplicatedReplies.length) {
    problems.push(`two or more replies delivered: ${list(verdict.duplicatedReplies)}`);
  }
  if (verdict.misdelivered.length) {
    problems.push(`answered with another request's reply: ${list(verdict.misdelivered)}`);
  }
  if (verdict.unbackedReplies.length) {
    problems.push(`reply without a recorded execution: ${list(verdict.unbackedReplies)}`);
  }
  if (verdict.unexpected.length) problems.push(`executed but never attempted: ${list(verdict.unexpected)}`);
  if (verdict.hung.length) problems.push(`neither replied nor failed: ${list(verdict.hung)}`);
  if (verdict.untypedFailures.length) problems.push(`failed without a typed error: ${list(verdict.untypedFailures)}`);
  if (verdict.malformedEffects.length) problems.push(`malformed effect lines: ${verdict.malformedEffects.length}`);
  if (verdict.acknowledged + verdict.failed + verdict.hung.length !== verdict.attempted) {
    problems.push("some attempted request has no outcome");
  }
  return problems;
}

/**
 * What a scenario saw of the recovery it exists to show. Each figure comes
 * from a source the component under test cannot fake on its own: the
 * client's events, the workers' effects files, the fault schedule, or (for
 * `requeued` and `workersExpired`) the broker's own event log, which is
 * always paired with effects-based evidence in the expectations.
 */
export interface Evidence {
  /** Client resends after a timeout (the clients' "retry" events). */
  retries: number;
  /** Requests acknowledged after at least one resend. */
  ackedAfterRetry: number;
  /** The broker's request-requeued events. */
  requeued: number;
  /** Requests executed again with no resend from their client (see {@link Verdict.reexecutedWithoutRetry}). */
  reexecutedWithoutRetry: number;
  /** Workers the broker expired for silence. */
  workersExpired: number;
  /** Workers that decided their broker was gone and reconnected (broker-lost / queue-lost). */
  workerReconnects: number;
  /** Killed workers whose last recorded execution never produced a reply: the kill landed mid-request. */
  midRequestKills: number;
}

export type EvidenceName = keyof Evidence;

/** What one scenario must show, beyond the properties {@link violations} checks for every run. */
export interface Expectation {
  /**
   * The most failed requests the scenario allows: 0 whenever the client's
   * retries outlast the fault, which `failedBecause` explains with the figures.
   */
  maxFailed: number;
  failedBecause: string;
  /** Minimum of each evidence figure: the recovery the scenario exists to exercise. */
  atLeast: Partial<Record<EvidenceName, number>>;
}

/** A scenario's own requirements; an empty list means it showed what it is for. */
export function expectationViolations(verdict: Verdict, evidence: Evidence, expectation: Expectation): string[] {
  const problems: string[] = [];
  if (verdict.failed > expectation.maxFailed) {
    problems.push(
      `failed=${verdict.failed}, at most ${expectation.maxFailed} allowed (${expectation.failedBecause})`,
    );
  }
  for (const [name, min] of Object.entries(expectation.atLeast) as Array<[EvidenceName, number]>) {
    if (evidence[name] < min) problems.push(`recovery not shown: ${name}=${evidence[name]}, needs at least ${min}`);
  }
  return problems;
}

/** One line per schedule, for the test output and docs/chaos.md. */
export function summaryLine(label: string, verdict: Verdict, extras: Record<string, string | number>): string {
  const failedBy = Object.entries(verdict.failedBy)
    .map(([reason, n]) => `${reason}:${n}`)
    .join(",");
  const e = verdict.executions;
  const fields: Array<[string, string | number]> = [
    ["attempted", verdict.attempted],
    ["acked", verdict.acknowledged],
    ["failed", verdict.failed + (failedBy ? `(${failedBy})` : "")],
    ["hung", verdict.hung.length],
    ["lost", verdict.lost.length],
    ["dupReplies", verdict.duplicatedReplies.length],
    ["misdelivered", verdict.misdelivered.length],
    ["unexpected", verdict.unexpected.length],
    ["recovered", verdict.recovered.length],
    ["exec0/1/2/3+", [e.never, e.once, e.twice, e.more].join("/")],
    ...Object.entries(extras),
  ];
  return `chaos ${label}: ${fields.map(([k, v]) => `${k}=${v}`).join(" ")}`;
}
