/** What the demo's child processes report to the orchestrator over their IPC channel. */
export type ChildMessage =
  | { readonly type: "broker-state"; readonly role: "primary" | "backup"; readonly state: string }
  | { readonly type: "worker-ready"; readonly worker: string }
  /** A handler invocation began (with dedup: inside the store's transaction, so it may still roll back). */
  | { readonly type: "attempt"; readonly worker: string; readonly id: string }
  | { readonly type: "attempt-end"; readonly worker: string; readonly id: string }
  /** A retry delivered to a worker after the id was committed: answered from the record, handler not run. */
  | { readonly type: "replayed"; readonly worker: string; readonly id: string }
  | { readonly type: "sent"; readonly id: string }
  | { readonly type: "answered"; readonly id: string; readonly replyId: string }
  | { readonly type: "failed"; readonly id: string; readonly error: string }
  | { readonly type: "retried"; readonly id: string }
  | { readonly type: "clients-done" };

/** What the orchestrator tells the clients process. */
export type ParentMessage = { readonly type: "stop" };

/** The table every worker appends one row to per committed execution (in the store's transaction). */
export const LEDGER_DDL = "CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, worker TEXT NOT NULL, at INTEGER NOT NULL)";
