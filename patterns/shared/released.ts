import { filter, lastValueFrom } from "rxjs";
import type { SocketEvent } from "../../src";
import type { Observable } from "rxjs";

/*
 * How a pattern uses a socket, the same way in every family:
 * - it consumes a socket through `messages$` only: subscribed directly when
 *   each message is dealt with synchronously (queues, broker, Binary Star,
 *   Majordomo worker sessions), piped through `concatMap` when answering
 *   one is asynchronous (the Pirate workers' handlers), so messages are
 *   still taken one at a time and in order; never `for await` or a chain
 *   of receive() promises. The one receive() is the REQ client's
 *   (retrying-request-client.ts): a REQ socket carries one request and its
 *   one reply, and a retry takes a fresh socket, so there is no stream of
 *   messages to consume, only that reply to wait for;
 * - it closes a socket and waits for socketReleased() before it reports
 *   `close` (see shared/lifecycle.ts).
 */

/**
 * Settles once a socket has emitted its final `close` event, i.e. once its
 * connections and listeners are released. Works when called after close():
 * a socket's event stream completes after `close`, and a completed stream
 * completes any late subscriber at once.
 */
export function socketReleased(socket: { readonly events$: Observable<SocketEvent> }): Promise<void> {
  return lastValueFrom(socket.events$.pipe(filter((event) => event.type === "close")), { defaultValue: undefined }).then(
    () => undefined,
  );
}
