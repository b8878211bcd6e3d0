import { MajordomoError } from "./errors";

/**
 * Error replies. MDP has no error command, so the broker (and a worker whose
 * handler failed) answers with an ordinary final reply whose body is
 * `["mdp.error", status, reason]`. The marker frame keeps error replies
 * distinguishable from service replies that happen to be a status code.
 */
export const ERROR_MARKER = "mdp.error";

/** Status codes used in error replies, borrowed from HTTP like MMI's "200"/"404"/"501". */
export const STATUS = {
  /** No worker is registered for the service (the request waited and expired). */
  notFound: "404",
  /** The worker's handler failed. */
  workerError: "500",
  /** The broker's queue for the service is full. */
  queueFull: "503",
  /** Workers exist but none took the request before it expired. */
  expired: "504",
} as const;

/** Body frames of an error reply. */
export function errorReplyBody(status: string, reason: string): Buffer[] {
  return [Buffer.from(ERROR_MARKER), Buffer.from(status), Buffer.from(reason)];
}

/** The typed error an error reply stands for, or undefined when `body` is a normal reply. */
export function errorFromReply(service: string, body: readonly Buffer[]): MajordomoError | undefined {
  if (body.length < 2 || body[0]!.toString() !== ERROR_MARKER) return undefined;
  const status = body[1]!.toString();
  const detail = body[2]?.toString() ?? "";
  const message = `${service}: ${status} ${detail}`.trim();
  switch (status) {
    case STATUS.notFound:
      return new MajordomoError("service-unavailable", message, { status });
    case STATUS.expired:
      return new MajordomoError("request-expired", message, { status });
    case STATUS.queueFull:
      return new MajordomoError("queue-full", message, { status });
    case STATUS.workerError:
      return new MajordomoError("worker-error", message, { status });
    default:
      return new MajordomoError("broker-error", message, { status });
  }
}
