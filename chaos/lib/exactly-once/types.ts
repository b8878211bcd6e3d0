/**
 * The records the exactly-once chaos suite is judged on (issue 9), shared by
 * the nodes that write them, the runner that collects them, the checker that
 * judges them and the report. One run = one scenario: a Binary Star pair of
 * Majordomo brokers, at least 3 workers that write a ledger row per committed
 * execution inside the idempotency store's transaction, client processes with
 * many requests in flight, and a seeded fault schedule applied mid-flight.
 *
 * The same scenario runs on two launchers: child processes (in `npm test`,
 * no container engine needed) and Docker containers (host networking,
 * 127.0.0.1 only). Nothing in these types depends on which.
 */

/**
 * One line a client process appends to its outcome log (JSON lines, written
 * with appendFileSync so a SIGKILL loses at most the line being written).
 * "sent" is written before the request is handed to the client library, so an
 * execution whose id has no "sent" line is a phantom (never asked for).
 */
export type ClientLine =
  | { readonly type: "sent"; readonly client: string; readonly incarnation: number; readonly id: string; readonly at: number }
  | {
      readonly type: "ok";
      readonly client: string;
      readonly incarnation: number;
      readonly id: string;
      readonly at: number;
      /** The reply body as the application saw it; the worker answers `ok:<id>`. */
      readonly reply: string;
    }
  | {
      readonly type: "failed";
      readonly client: string;
      readonly incarnation: number;
      readonly id: string;
      readonly at: number;
      /** The typed error's `code` (a MajordomoError's), or "untyped" when the error was not one of ours. */
      readonly code: string;
      readonly reason: string;
    };

/**
 * One committed execution: a row the service's handler wrote into the ledger
 * table inside the store's transaction. The ledger has no unique constraint on
 * the id, on purpose: a second execution must be visible, not refused.
 */
export interface LedgerRow {
  readonly id: string;
  /** The worker (node name) whose transaction committed the row. */
  readonly worker: string;
  /** Epoch milliseconds when the handler wrote it. */
  readonly at: number;
}

/** The kinds of fault a schedule applies. */
export type FaultKind =
  | "kill-worker"
  | "pause-worker"
  | "resume-worker"
  | "kill-broker"
  | "restart-broker"
  | "pause-broker"
  | "resume-broker"
  | "kill-client"
  | "restart-client";

/** A fault as applied (the runner writes one when the signal was delivered). */
export interface FaultRecord {
  readonly kind: FaultKind;
  /** The node name, e.g. "worker-2", "broker-primary", "client-1". */
  readonly target: string;
  /** Epoch milliseconds. */
  readonly at: number;
  /** e.g. which broker was active when it was killed, or that the paused worker held a request. */
  readonly detail?: string;
}

/** Everything the runner collects from one scenario, the checker's only input. */
export interface RunRecord {
  /** e.g. "kill-active-broker". */
  readonly scenario: string;
  readonly seed: number;
  readonly launcher: "process" | "container";
  readonly store: "sqlite" | "postgres";
  /** How many distinct request ids the clients were told to send. */
  readonly requests: number;
  /** Requests each client keeps in flight. */
  readonly inFlightPerClient: number;
  readonly clients: readonly string[];
  readonly workers: readonly string[];
  /** Every client line of every incarnation, in file order per client. */
  readonly clientLines: readonly ClientLine[];
  readonly ledger: readonly LedgerRow[];
  readonly faults: readonly FaultRecord[];
  /** Epoch milliseconds: the first client started / the last client finished or was given up on. */
  readonly startedAt: number;
  readonly endedAt: number;
  /**
   * Clients whose last incarnation was still running when the runner gave up
   * waiting (the "nothing hangs" property fails on these).
   */
  readonly hungClients: readonly string[];
  /** Counts of the broker and worker event lines, by `type`, for the report (requeues, takeovers, ...). */
  readonly nodeEvents: Readonly<Record<string, number>>;
}

/** What a scenario must show beyond the common properties. */
export interface EoExpectation {
  /** Failures allowed: 0 when the clients' retries outlast the faults. */
  readonly maxFailed: number;
  /** Minimum counts of node events that prove the fault was recovered from, e.g. { "takeover": 1 }. */
  readonly evidence?: Readonly<Record<string, number>>;
}

/** A request as the checker classified it, in Jepsen's terms. */
export type RequestOutcome = "ok" | "failed" | "unknown";

/** The checker's judgement of one run. */
export interface EoVerdict {
  readonly ok: boolean;
  /** Every broken property, one readable line each (empty when ok). */
  readonly violations: readonly string[];
  readonly counts: {
    readonly sent: number;
    readonly ok: number;
    readonly failed: number;
    /** Sent, by a client incarnation that was killed, and never answered to any incarnation. */
    readonly unknown: number;
    /** Ledger rows in all. */
    readonly executions: number;
    /** Ids with more than one ledger row. */
    readonly duplicated: number;
    /** Acknowledged ids with no ledger row. */
    readonly lostAcked: number;
    /** Ledger ids never sent. */
    readonly phantom: number;
    /** Ok lines whose reply is not `ok:<id>`. */
    readonly wrongReply: number;
    /** (incarnation, id) pairs answered more than once. */
    readonly repliedTwice: number;
    /**
     * Ids whose last attempt came from an incarnation that was not killed and
     * got neither an ok nor a failed line from it (the "nothing hangs" property).
     * sent = ok + failed + unknown + unanswered.
     */
    readonly unanswered: number;
  };
  /** Longest stretch without any ok reply that overlaps a fault, in ms (the failover gap). */
  readonly longestGapMs: number;
  /** Per fault: ms from the fault until replies flow again at half the median rate (null if they never did). */
  readonly recoveryMs: ReadonlyArray<{ readonly fault: FaultRecord; readonly ms: number | null }>;
  /** Ok replies per second, one entry per second from startedAt. */
  readonly repliesPerSecond: readonly number[];
}
