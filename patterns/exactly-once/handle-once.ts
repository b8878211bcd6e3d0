import { fingerprint, type IdempotencyStore, type Outcome, type Reply } from "./store";

/** What {@link handleOnce} passes to the handler besides the request body. */
export interface OnceContext<Tx> {
  /** The request id the record is kept under. */
  readonly id: string;
  /** The store's open transaction: write the handler's own effects through it so they commit with the record. */
  readonly tx: Tx;
}

/** A request handler that may be made exactly-once: body frames in, reply frames out. */
export type OnceHandler<Tx> = (body: Buffer[], context: OnceContext<Tx>) => Promise<Reply> | Reply;

/** Options of {@link handleOnce}. */
export interface HandleOnceOptions {
  /**
   * Record a digest of the body with the id and refuse (ExactlyOnceError
   * "id-reused") a later request that reuses the id with a different body,
   * instead of answering it with the first body's reply. Default true.
   */
  readonly checkBody?: boolean;
}

/**
 * Handles one request at most once per id, whatever worker or transport it
 * came through: the first delivery of `id` runs `handler` inside the store's
 * transaction and records its reply; a redelivery gets the recorded reply
 * and `replayed: true` without running `handler`. Plug it into a worker's
 * request handler once the request id has been taken off the message.
 */
export function handleOnce<Tx>(
  store: IdempotencyStore<Tx>,
  request: { readonly id: string; readonly body: Buffer[] },
  handler: OnceHandler<Tx>,
  options: HandleOnceOptions = {},
): Promise<Outcome> {
  const digest = options.checkBody === false ? undefined : fingerprint(request.body);
  return store.execute(request.id, (tx) => handler(request.body, { id: request.id, tx }), digest === undefined ? {} : { fingerprint: digest });
}
