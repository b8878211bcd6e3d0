/**
 * The demo's verdict, kept apart from the processes so a test can feed it a
 * ledger with a duplicate (or a missing row) and see it caught.
 */

/** What the clients saw, and what the ledger holds, at the end of a run. */
export interface RunRecord {
  /** Every request id a client sent. */
  readonly sent: ReadonlySet<string>;
  /** Answered ids, with the id the reply carried (a reply must answer its own request). */
  readonly answered: ReadonlyMap<string, string>;
  /** Ids that failed with an error after all their retries. */
  readonly failed: ReadonlySet<string>;
  /** Committed executions per id, from the ledger (one row per committed handler run). */
  readonly executions: ReadonlyMap<string, number>;
}

export interface Verdict {
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
  /** Committed executions in all (ledger rows). */
  readonly executed: number;
  /** Ids with more than one ledger row. */
  readonly executedTwice: readonly string[];
  /**
   * Ids lost: answered without a ledger row, answered with another request's
   * reply, or neither answered nor failed by the end (hung).
   */
  readonly lost: readonly string[];
}

export function judge(run: RunRecord): Verdict {
  const lost: string[] = [];
  for (const id of run.sent) {
    const replyId = run.answered.get(id);
    if (replyId === undefined) {
      if (!run.failed.has(id)) lost.push(id);
    } else if (replyId !== id || (run.executions.get(id) ?? 0) === 0) {
      lost.push(id);
    }
  }
  const executedTwice = [...run.executions].filter(([, n]) => n > 1).map(([id]) => id);
  const executed = [...run.executions.values()].reduce((a, b) => a + b, 0);
  return { sent: run.sent.size, answered: run.answered.size, failed: run.failed.size, executed, executedTwice, lost };
}

/**
 * 1 if any request was lost or executed twice, or nothing was answered at all
 * (a demo that serves nothing proves nothing). Failed requests (a typed error
 * after every retry) are reported but do not fail the run: the client was
 * told, and a retry with the same id would be answered exactly once.
 */
export function exitCode(verdict: Verdict): 0 | 1 {
  return verdict.lost.length > 0 || verdict.executedTwice.length > 0 || verdict.answered === 0 ? 1 : 0;
}

/** The summary's lines (also what the test reads). */
export function summaryLines(verdict: Verdict): string[] {
  const sample = (ids: readonly string[]) => (ids.length > 0 ? ` (${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", ..." : ""})` : "");
  return [
    `sent ${verdict.sent}, answered ${verdict.answered}, failed ${verdict.failed}${verdict.failed > 0 ? "  <-- FAILED REQUESTS (typed error after all retries)" : ""}`,
    `executed ${verdict.executed} (ledger rows)`,
    `executed twice: ${verdict.executedTwice.length}${sample(verdict.executedTwice)}`,
    `lost: ${verdict.lost.length}${sample(verdict.lost)}`,
    `result: ${exitCode(verdict) === 0 ? "PASS" : "FAIL"} (exit ${exitCode(verdict)})`,
  ];
}
