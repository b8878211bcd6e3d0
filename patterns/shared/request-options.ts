import { nonNegative, positive } from "./validate";

/**
 * Options of one request, given as the last argument of `request()` or
 * `call()` on LazyPirateClient, MajordomoClient and MajordomoAsyncClient.
 * Each overrides the client's default for this request only.
 */
export interface RequestOptions {
  /** ms to wait for the reply (Majordomo: for each reply part) before retrying. Default: the client's `timeout`. */
  timeout?: number;
  /** Times the request is resent after a timeout before it fails. Default: the client's `retries`. */
  retries?: number;
  /**
   * Cancels the request: when it fires, the request fails with reason
   * "aborted" (code ECANCELED) and no retry is sent. A signal that has
   * already fired fails the request before anything is sent.
   */
  signal?: AbortSignal;
}

/** The per-request settings after defaults and validation. */
export interface ResolvedRequestOptions {
  readonly timeout: number;
  readonly retries: number;
  readonly signal?: AbortSignal;
}

/** Fills in the client's defaults and validates with the same rules as the client options. */
export function resolveRequestOptions(
  options: RequestOptions | undefined,
  defaults: { readonly timeout: number; readonly retries: number },
): ResolvedRequestOptions {
  return {
    timeout: options?.timeout === undefined ? defaults.timeout : positive("timeout", options.timeout),
    retries: options?.retries === undefined ? defaults.retries : nonNegative("retries", options.retries),
    ...(options?.signal ? { signal: options.signal } : {}),
  };
}

/**
 * Calls `onAbort` once when `signal` fires; returns the function that stops
 * listening (call it when the request settles, so a long-lived signal does
 * not keep the request alive).
 */
export function onAbort(signal: AbortSignal | undefined, handler: () => void): () => void {
  if (!signal) return () => undefined;
  signal.addEventListener("abort", handler, { once: true });
  return () => signal.removeEventListener("abort", handler);
}
