import { filter, lastValueFrom } from "rxjs";
import type { SocketEvent } from "../../src";
import type { Observable } from "rxjs";

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
