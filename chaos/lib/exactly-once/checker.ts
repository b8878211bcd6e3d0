/**
 * The exactly-once checker (issue 9), in Jepsen's terms: each request's
 * outcome as its client saw it (ok, failed, unknown) set against the ledger's
 * committed executions. Pure: it judges a {@link RunRecord} and reads nothing
 * else, so the negative controls in chaos/exactly-once-checker.test.ts can
 * feed it hand-made runs.
 */
import type { ClientLine, EoExpectation, EoVerdict, FaultKind, FaultRecord, RunRecord } from "./types";

/** How many example ids a violation line names. */
const EXAMPLES = 5;
const SECOND_MS = 1000;

/** The key of one client incarnation, as violation lines print it: `client-1#2`. */
export function incarnationKey(client: string, incarnation: number): string {
  return `${client}#${incarnation}`;
}

/**
 * The client incarnations a "kill-client" fault hit. A kill at time t on
 * client c hits the incarnation of c that had started (written its first
 * line) by t and was not yet followed by a later one: the runner starts the
 * next incarnation only after the kill, so the windows between first lines
 * say which process was running. Incarnations no kill hit are "living": they
 * ran to their end and owe an answer for everything they sent.
 */
export function killedIncarnations(run: Pick<RunRecord, "clientLines" | "faults">): Set<string> {
  const starts = new Map<string, Map<number, number>>();
  for (const line of run.clientLines) {
    const byIncarnation = starts.get(line.client) ?? new Map<number, number>();
    starts.set(line.client, byIncarnation);
    const known = byIncarnation.get(line.incarnation);
    if (known === undefined || line.at < known) byIncarnation.set(line.incarnation, line.at);
  }
  const killed = new Set<string>();
  for (const fault of run.faults) {
    if (fault.kind !== "kill-client") continue;
    const byIncarnation = starts.get(fault.target);
    if (!byIncarnation) continue;
    let hit: number | undefined;
    let hitStart = -Infinity;
    for (const [incarnation, start] of byIncarnation) {
      // The latest incarnation to start at or before the kill; on a tie of
      // start times the higher number, which is the later process.
      if (start <= fault.at && (start > hitStart || (start === hitStart && incarnation > (hit ?? -Infinity)))) {
        hit = incarnation;
        hitStart = start;
      }
    }
    if (hit !== undefined) killed.add(incarnationKey(fault.target, hit));
  }
  return killed;
}

/** What one incarnation did with one id, from its lines in file order. */
interface Attempt {
  readonly client: string;
  readonly incarnation: number;
  readonly id: string;
  sends: number;
  oks: number;
  /** A send is waiting for its answer (the last line for the id was "sent"). */
  open: boolean;
  /** The answer to the last send that got one. */
  lastAnswer: "ok" | "failed" | undefined;
  lastFailedCode: string | undefined;
  /** When the last "sent" line was written: the latest attempt across incarnations is the id's final one. */
  lastSentAt: number;
  /** An answer with no send waiting for it, or a second ok. */
  answeredTwice: boolean;
}

/** Per-id outcome, with the one extra class the contract's three leave out. */
type Classified = "ok" | "failed" | "unknown" | "unanswered";

/**
 * Judges one run against the properties every scenario must keep and the
 * scenario's own expectation. Each broken property is one line:
 * `<property>: <count> <what> (e.g. <up to 5 ids>)`.
 */
export function checkRun(run: RunRecord, expectation: EoExpectation): EoVerdict {
  const killed = killedIncarnations(run);
  const attempts = new Map<string, Attempt>();
  const clientsOfId = new Map<string, Set<string>>();
  const wrongReplies: string[] = [];

  for (const line of run.clientLines) {
    const key = `${incarnationKey(line.client, line.incarnation)}/${line.id}`;
    let attempt = attempts.get(key);
    if (!attempt) {
      attempt = {
        client: line.client,
        incarnation: line.incarnation,
        id: line.id,
        sends: 0,
        oks: 0,
        open: false,
        lastAnswer: undefined,
        lastFailedCode: undefined,
        lastSentAt: -Infinity,
        answeredTwice: false,
      };
      attempts.set(key, attempt);
    }
    applyLine(attempt, line, key, wrongReplies);
    if (line.type === "sent") {
      const clients = clientsOfId.get(line.id) ?? new Set<string>();
      clients.add(line.client);
      clientsOfId.set(line.id, clients);
    }
  }

  // Committed executions per id, in ledger order.
  const rows = new Map<string, number>();
  for (const row of run.ledger) rows.set(row.id, (rows.get(row.id) ?? 0) + 1);

  // The final attempt of each id: the one whose last send came last.
  const finalAttempt = new Map<string, Attempt>();
  const acknowledged = new Set<string>();
  for (const attempt of attempts.values()) {
    if (attempt.oks > 0) acknowledged.add(attempt.id);
    if (attempt.sends === 0) continue;
    const known = finalAttempt.get(attempt.id);
    if (
      !known ||
      attempt.lastSentAt > known.lastSentAt ||
      (attempt.lastSentAt === known.lastSentAt && attempt.incarnation > known.incarnation)
    ) {
      finalAttempt.set(attempt.id, attempt);
    }
  }

  const outcomes = new Map<string, Classified>();
  const failedExamples: string[] = [];
  for (const [id, attempt] of finalAttempt) {
    let outcome: Classified;
    if (acknowledged.has(id)) outcome = "ok";
    else if (!attempt.open && attempt.lastAnswer === "failed") outcome = "failed";
    else if (attempt.open && killed.has(incarnationKey(attempt.client, attempt.incarnation))) outcome = "unknown";
    else outcome = "unanswered";
    outcomes.set(id, outcome);
    if (outcome === "failed") failedExamples.push(`${id} (${attempt.lastFailedCode ?? "?"})`);
  }

  const lostAcked = [...acknowledged].filter((id) => (rows.get(id) ?? 0) === 0);
  const duplicated = [...rows].filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}`);
  const phantom = [...rows.keys()].filter((id) => !finalAttempt.has(id));
  const repliedTwice = [...attempts].filter(([, a]) => a.answeredTwice).map(([key]) => key);
  // Property 5 is per incarnation: a living one owes an answer for every id it sent.
  const unansweredByLiving = [...attempts]
    .filter(([, a]) => a.open && !killed.has(incarnationKey(a.client, a.incarnation)))
    .map(([key]) => key);
  const reused = [...clientsOfId].filter(([, clients]) => clients.size > 1).map(([id]) => id);

  const tally = (outcome: Classified): number => [...outcomes.values()].filter((o) => o === outcome).length;
  const counts = {
    sent: finalAttempt.size,
    ok: tally("ok"),
    failed: tally("failed"),
    unknown: tally("unknown"),
    unanswered: tally("unanswered"),
    executions: run.ledger.length,
    duplicated: duplicated.length,
    lostAcked: lostAcked.length,
    phantom: phantom.length,
    wrongReply: wrongReplies.length,
    repliedTwice: repliedTwice.length,
  };

  const violations: string[] = [];
  const report = (property: string, examples: readonly string[], what: string): void => {
    if (examples.length > 0) violations.push(violationLine(property, examples, what));
  };
  report("lostAcked", lostAcked, "acknowledged ids with no committed execution");
  report("duplicated", duplicated, "ids with two or more committed executions");
  report("repliedTwice", repliedTwice, "(incarnation, id) pairs answered more than once");
  report("wrongReply", wrongReplies, "ok lines whose reply is not ok:<id> or whose id the incarnation never sent");
  report("phantom", phantom, "ids with a committed execution that no client ever sent");
  report("hung", run.hungClients, "clients still running when the runner gave up waiting");
  report("unanswered", unansweredByLiving, "requests sent by an incarnation that was not killed and never answered");
  report("idReused", reused, "ids sent by more than one client (the ledger cannot tell their executions apart)");
  if (counts.failed > expectation.maxFailed) {
    violations.push(
      violationLine("failed", failedExamples, `requests failed, at most ${expectation.maxFailed} allowed`),
    );
  }
  for (const [key, min] of Object.entries(expectation.evidence ?? {})) {
    const seen = run.nodeEvents[key] ?? 0;
    if (seen < min) violations.push(`recovery not shown: ${key}=${seen}, at least ${min} required`);
  }
  if (counts.sent < run.requests) {
    violations.push(`sentTooFew: ${counts.sent} distinct ids sent, at least ${run.requests} required`);
  }

  const perSecond = repliesPerSecond(run);
  return {
    ok: violations.length === 0,
    violations,
    counts,
    longestGapMs: longestGapMs(run),
    recoveryMs: recoveryMs(run, perSecond),
    repliesPerSecond: perSecond,
  };
}

function applyLine(attempt: Attempt, line: ClientLine, key: string, wrongReplies: string[]): void {
  switch (line.type) {
    case "sent":
      attempt.sends += 1;
      attempt.open = true;
      attempt.lastSentAt = line.at;
      return;
    case "ok":
      if (attempt.sends === 0) {
        // An answer to a request this process never made: the reply went to the wrong request.
        wrongReplies.push(`${key} (never sent)`);
        return;
      }
      if (line.reply !== `ok:${line.id}`) wrongReplies.push(`${key}=${JSON.stringify(line.reply)}`);
      attempt.oks += 1;
      if (!attempt.open || attempt.oks > 1) attempt.answeredTwice = true;
      attempt.open = false;
      attempt.lastAnswer = "ok";
      return;
    case "failed":
      if (attempt.sends === 0) {
        wrongReplies.push(`${key} (failed, never sent)`);
        return;
      }
      if (!attempt.open) attempt.answeredTwice = true;
      attempt.open = false;
      attempt.lastAnswer = "failed";
      attempt.lastFailedCode = line.code;
      return;
  }
}

function violationLine(property: string, examples: readonly string[], what: string): string {
  const shown = examples.slice(0, EXAMPLES).join(", ");
  return `${property}: ${examples.length} ${what} (e.g. ${shown}${examples.length > EXAMPLES ? ", ..." : ""})`;
}

/**
 * How long after a fault (after its end, for a pause) a reply gap can begin
 * and still be the fault's. The replies already on their way when a broker is
 * killed or paused still arrive in the next few milliseconds, so the outage
 * the fault causes begins just after it, not across it; a second covers that
 * with room, while a gap starting later than that has some other cause.
 */
export const FAULT_EFFECT_GRACE_MS = 1000;

/**
 * The time a fault acts, for the gap: a pause from the pause until its
 * resume, anything else at its instant; both extended by
 * {@link FAULT_EFFECT_GRACE_MS}.
 */
export interface FaultRange {
  readonly fault: FaultRecord;
  readonly from: number;
  readonly to: number;
}

const RESUME_OF: Partial<Record<FaultKind, FaultKind>> = {
  "pause-worker": "resume-worker",
  "pause-broker": "resume-broker",
};

/** Each fault's range (see {@link FaultRange}); a pause never resumed lasts until the run ended. */
export function faultRanges(run: Pick<RunRecord, "faults" | "endedAt">): FaultRange[] {
  return run.faults.map((fault) => {
    const resume = RESUME_OF[fault.kind];
    if (!resume) return { fault, from: fault.at, to: fault.at + FAULT_EFFECT_GRACE_MS };
    const ends = run.faults
      .filter((f) => f.kind === resume && f.target === fault.target && f.at >= fault.at)
      .map((f) => f.at);
    return { fault, from: fault.at, to: (ends.length > 0 ? Math.min(...ends) : run.endedAt) + FAULT_EFFECT_GRACE_MS };
  });
}

function okTimes(run: Pick<RunRecord, "clientLines">): number[] {
  return run.clientLines
    .filter((line) => line.type === "ok")
    .map((line) => line.at)
    .sort((a, b) => a - b);
}

/**
 * The failover gap: the longest interval between consecutive ok replies (the
 * first one measured from startedAt) that overlaps a fault's range (see
 * {@link faultRanges}). Gaps that touch no fault are ordinary jitter and do
 * not count; a run with no ok at all has one interval, startedAt to endedAt.
 */
export function longestGapMs(run: Pick<RunRecord, "clientLines" | "faults" | "startedAt" | "endedAt">): number {
  const ranges = faultRanges(run);
  const overlaps = (from: number, to: number): boolean => ranges.some((r) => from <= r.to && r.from <= to);
  const times = okTimes(run);
  if (times.length === 0) return overlaps(run.startedAt, run.endedAt) ? run.endedAt - run.startedAt : 0;
  let longest = 0;
  let previous = run.startedAt;
  for (const at of times) {
    if (at - previous > longest && overlaps(previous, at)) longest = at - previous;
    previous = at;
  }
  return longest;
}

/**
 * Ok lines per whole second from startedAt: entry k counts replies at
 * [startedAt + k s, startedAt + (k+1) s). The last entry may cover a partial
 * second; replies stamped outside the run are counted in the nearest entry.
 */
export function repliesPerSecond(run: Pick<RunRecord, "clientLines" | "startedAt" | "endedAt">): number[] {
  const length = Math.max(1, Math.ceil((run.endedAt - run.startedAt) / SECOND_MS));
  const series = new Array<number>(length).fill(0);
  for (const at of okTimes(run)) {
    const bucket = Math.min(length - 1, Math.max(0, Math.floor((at - run.startedAt) / SECOND_MS)));
    series[bucket]! += 1;
  }
  return series;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Per fault: ms from the fault to the start of the first whole second
 * (bucket of {@link repliesPerSecond}) starting at or after it in which the
 * ok replies reached half the run's median per-second rate (and at least
 * one); null if no such second came. The resolution is one second: a fault
 * the clients never noticed still shows the time to the next bucket edge.
 */
export function recoveryMs(
  run: Pick<RunRecord, "faults" | "startedAt">,
  perSecond: readonly number[],
): Array<{ fault: FaultRecord; ms: number | null }> {
  const threshold = perSecond.length > 0 ? median(perSecond) / 2 : 0;
  return run.faults.map((fault) => {
    const first = Math.max(0, Math.ceil((fault.at - run.startedAt) / SECOND_MS));
    for (let bucket = first; bucket < perSecond.length; bucket++) {
      const count = perSecond[bucket]!;
      if (count > 0 && count >= threshold) return { fault, ms: run.startedAt + bucket * SECOND_MS - fault.at };
    }
    return { fault, ms: null };
  });
}

/**
 * The request a paused worker was frozen in (the runner notes it in the
 * pause fault's detail as `mid-request: <id> ...`) and how many committed
 * executions the ledger holds for it. The no-store negative controls require
 * two or more: the duplicate the checker reports must be that very request.
 */
export function frozenRequest(run: Pick<RunRecord, "faults" | "ledger">): { readonly id?: string; readonly executions: number } {
  const paused = run.faults.find((fault) => fault.kind === "pause-worker");
  const id = /^mid-request: (\S+)/.exec(paused?.detail ?? "")?.[1];
  if (id === undefined) return { executions: 0 };
  return { id, executions: run.ledger.filter((row) => row.id === id).length };
}
