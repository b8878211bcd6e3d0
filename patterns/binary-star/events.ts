import type { BinaryStarError } from "./errors";
import type { BinaryStarFsmEvent, BinaryStarRole, BinaryStarState, RejectReason, SplitBrain } from "./fsm";

/** The three endpoints of a Binary Star server, as resolved after binding (ephemeral ports filled in). */
export interface BinaryStarEndpoints {
  /** Where clients connect (bound); `null` when the application brings its own voter socket. */
  readonly frontend: string | null;
  /** Where this server publishes its state (bound). */
  readonly statePublisher: string;
  /** The peer's state publisher (connected). */
  readonly stateSubscriber: string;
}

/** What a Binary Star server reports, as a typed stream; completes after `close`. */
export type BinaryStarEvent =
  /** Sockets are bound and connected; the heartbeat runs. */
  | { readonly type: "started"; readonly role: BinaryStarRole; readonly endpoints: BinaryStarEndpoints }
  /** The state machine moved; `cause` is the event that moved it, `term` the term after the move. */
  | {
      readonly type: "state-changed";
      readonly from: BinaryStarState;
      readonly to: BinaryStarState;
      readonly cause: BinaryStarFsmEvent;
      readonly term: number;
    }
  /** The peer announced a state (or term) different from the last one heard, or was heard again after being dead. */
  | { readonly type: "peer-state"; readonly state: BinaryStarState; readonly term: number | undefined }
  /** Nothing heard from the peer for the whole expiry window; reported once per silence. */
  | { readonly type: "peer-dead"; readonly silentMs: number }
  /** A client request (a vote) was counted; `accepted` means this server serves it, otherwise it was dropped. */
  | { readonly type: "vote"; readonly accepted: boolean; readonly state: BinaryStarState; readonly reason?: RejectReason }
  /** Both servers were active, or both passive; see {@link SplitBrain} for what this server did. */
  | ({ readonly type: "split-brain" } & SplitBrain)
  /**
   * This server's own loop did not run for `gapMs` (at least the peer
   * window): its view is stale, so it neither serves nor takes over nor
   * publishes until `fencedUntil` (scheduler clock, ms).
   */
  | { readonly type: "stalled"; readonly gapMs: number; readonly fencedUntil: number }
  /** The peer sent a state message that is not one of the four digits (or a bad term); it was ignored. */
  | { readonly type: "bad-state"; readonly reason: string }
  /** A socket operation failed (publishing state, replying); the server keeps running. */
  | { readonly type: "socket-error"; readonly error: BinaryStarError }
  /** The server is closed and its sockets released; the last event. */
  | { readonly type: "close" };

/** The `type` names of {@link BinaryStarEvent}. */
export type BinaryStarEventType = BinaryStarEvent["type"];

/** What a {@link BinaryStarClient} reports. `request` numbers the client's requests 1, 2, ... in call order. */
export type BinaryStarClientEvent =
  /** A request went to `server`; `attempt` counts from 1 per request. */
  | {
      readonly type: "request-sent";
      readonly request: number;
      readonly server: "primary" | "backup";
      readonly endpoint: string;
      readonly attempt: number;
    }
  /** The server answered. */
  | { readonly type: "reply"; readonly request: number; readonly server: "primary" | "backup"; readonly endpoint: string; readonly attempt: number }
  /** No reply within the timeout from `server`; its socket was dropped. */
  | { readonly type: "timeout"; readonly request: number; readonly server: "primary" | "backup"; readonly endpoint: string; readonly attempt: number }
  /** The client gives up on `from` and, after `settleDelay` ms, sends to `to` instead. */
  | {
      readonly type: "failover";
      readonly request: number;
      readonly from: "primary" | "backup";
      readonly to: "primary" | "backup";
      readonly endpoint: string;
      readonly settleDelay: number;
    }
  /** Every attempt timed out; the request failed with `error`. */
  | { readonly type: "gave-up"; readonly request: number; readonly attempts: number; readonly error: BinaryStarError }
  /** The caller unsubscribed before the reply arrived. */
  | { readonly type: "abandoned"; readonly request: number; readonly attempt: number }
  /** The request's AbortSignal fired; it failed with reason "aborted". `attempt` is 0 if it was never sent. */
  | { readonly type: "aborted"; readonly request: number; readonly attempt: number }
  /** The client is closed and its socket released; the last event. */
  | { readonly type: "close" };

/** The `type` names of {@link BinaryStarClientEvent}. */
export type BinaryStarClientEventType = BinaryStarClientEvent["type"];
