import type { Observable } from "rxjs";

/** What a reply says about who executed the request (the worker puts it there). */
export interface Reply {
  /** The request id the reply body names; must equal the request it was delivered to. */
  readonly id: string;
  readonly worker: string;
  readonly seq: number;
}

export type Outcome = "pending" | "ok" | "failed" | "hung";

/** The client's view of one request. */
export interface RequestRecord {
  readonly id: number;
  outcome: Outcome;
  /** Every reply the application saw for this request, in order. More than one is a bug. */
  readonly replies: Reply[];
  /** How the request failed, when it did. `typed` is false for anything but the library's own error class. */
  error?: { reason: string; code: string; typed: boolean; message: string };
  /**
   * Resends the client reported while this request was its only one in flight
   * (each lane runs one request at a time, so its client's "retry" events
   * belong to the current request). Zero means any re-execution of the request
   * was not the client's doing: the broker requeued it.
   */
  retries: number;
  startedAt: number;
  settledAt?: number;
}

export interface History {
  readonly requests: Map<number, RequestRecord>;
  /** Resends after a timeout, as the clients reported them: recovery the client did, not the broker. */
  retries: number;
  startedAt: number;
  finishedAt: number;
}

/** The one thing the driver needs from a client library: a cold request Observable and close(). */
export interface RequestClient {
  request(service: string, body: string[]): Observable<Buffer[]>;
  close(): void;
  /** The client's event stream, if it has one; its "retry" events are counted. */
  readonly events$?: Observable<{ readonly type: string }>;
}

export interface DriveOptions {
  service: string;
  /** Requests numbered 1..count. */
  count: number;
  /** Independent clients running at once, each one request at a time. */
  concurrency: number;
  makeClient: () => RequestClient;
  /** Recognises the library's typed error (MajordomoError, PirateError, ...). */
  isTypedError: (error: unknown) => error is Error & { code: string; reason?: string };
  /**
   * After this long a request that neither replied nor failed counts as hung
   * and is abandoned. Set above the client's own give-up time (timeout ×
   * attempts), so a hung request means the library broke its own promise.
   */
  hangAfterMs: number;
  /**
   * No new request starts after this much time from the start of the drive,
   * so a system that stalls completely still ends the drive within
   * deadlineMs + hangAfterMs; the requests never sent show up as a shortfall
   * in `attempted`.
   */
  deadlineMs: number;
}

/**
 * Sends `count` uniquely numbered requests through several clients at once,
 * recording for each whether it was acknowledged (reply received), failed
 * with an error, or hung. Bounded: every request settles within hangAfterMs
 * and none starts after deadlineMs.
 */
export async function drive(options: DriveOptions, history: History = newHistory()): Promise<History> {
  history.startedAt = Date.now();
  const stopAt = history.startedAt + options.deadlineMs;
  let next = 1;
  const lane = async (): Promise<void> => {
    const client = options.makeClient();
    let current: RequestRecord | undefined;
    const retries = client.events$?.subscribe((event) => {
      if (event.type !== "retry") return;
      history.retries += 1;
      if (current) current.retries += 1;
    });
    try {
      for (;;) {
        if (next > options.count || Date.now() >= stopAt) return;
        const id = next++;
        const record: RequestRecord = { id, outcome: "pending", replies: [], retries: 0, startedAt: Date.now() };
        history.requests.set(id, record);
        current = record;
        await one(client, record, options);
        current = undefined;
      }
    } finally {
      client.close();
      retries?.unsubscribe();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  history.finishedAt = Date.now();
  return history;
}

export function newHistory(): History {
  return { requests: new Map(), retries: 0, startedAt: Date.now(), finishedAt: 0 };
}

/** Requests sent and not yet settled: the ones a fault right now would hit. */
export function pending(history: History): number {
  let count = 0;
  for (const record of history.requests.values()) if (record.outcome === "pending") count += 1;
  return count;
}

function one(client: RequestClient, record: RequestRecord, options: DriveOptions): Promise<void> {
  const id = record.id;
  return new Promise<void>((resolve) => {
    let guard: NodeJS.Timeout | undefined;
    const settle = (outcome: Outcome): void => {
      if (record.outcome !== "pending") return;
      record.outcome = outcome;
      record.settledAt = Date.now();
      if (guard) clearTimeout(guard);
      resolve();
    };
    const subscription = client.request(options.service, [String(id)]).subscribe({
      next: (body) => {
        // Every emission is a reply the application saw; two before completion means answered twice.
        record.replies.push(parseReply(body));
      },
      error: (error: unknown) => {
        const typed = options.isTypedError(error);
        const e = error as { reason?: unknown; code?: unknown; message?: unknown };
        record.error = {
          reason: typeof e?.reason === "string" ? e.reason : typeof e?.code === "string" ? e.code : "unknown",
          code: typeof e?.code === "string" ? e.code : "none",
          typed,
          message: typeof e?.message === "string" ? e.message : String(error),
        };
        settle("failed");
      },
      complete: () => {
        if (record.replies.length === 0) {
          record.error = {
            reason: "completed-without-reply",
            code: "none",
            typed: false,
            message: "no reply and no error",
          };
        }
        settle(record.replies.length > 0 ? "ok" : "failed");
      },
    });
    guard = setTimeout(() => {
      settle("hung");
      subscription.unsubscribe();
    }, options.hangAfterMs);
    if (record.outcome !== "pending") clearTimeout(guard);
  });
}

function parseReply(body: Buffer[]): Reply {
  const [id, worker, seq] = body.map((frame) => frame.toString());
  return { id: id ?? "", worker: worker ?? "", seq: Number(seq ?? Number.NaN) };
}
