import type { Observable } from "rxjs";
import type { MajordomoClientEvent } from "./events";
import type { ClientCore } from "./client-core";
import { createClientCore, serviceAvailable, type MajordomoClientOptions } from "./client-options";
import type { Body } from "./frames";

/**
 * An asynchronous Majordomo client: many requests in flight over one DEALER.
 *
 * MDP replies name only the service, not the request, so requests to the
 * same service are sent one after another (in call order) while requests
 * to different services run at once. Timeouts and retries work as in
 * {@link MajordomoClient}; a retry replaces the socket and resends every
 * request in flight.
 *
 * @example
 * ```ts
 * const client = new MajordomoAsyncClient({ broker: "tcp://127.0.0.1:5555" });
 * client.request("ticker", "EURUSD").subscribe((part) => console.log(part.toString()));
 * ```
 */
export class MajordomoAsyncClient {
  /**
   * What the client does: requests sent, replies, timeouts, retries, giving
   * up, error replies, fresh sockets and the socket's connection to the
   * broker coming and going. Completes after `{ type: "close" }`.
   */
  readonly events$: Observable<MajordomoClientEvent>;

  private readonly core: ClientCore;

  constructor(options: MajordomoClientOptions) {
    this.core = createClientCore(options, "service", "mdp-async-client");
    this.events$ = this.core.events$;
  }

  /**
   * Sends a request when subscribed. Emits each reply part in order and
   * completes after the FINAL; errors with a MajordomoError on timeout after
   * every retry, on an error reply, or on close. Unsubscribing abandons it.
   */
  request(service: string, body: Body): Observable<Buffer[]> {
    return this.core.request(service, body);
  }

  /** Asks the broker (8/MMI `mmi.service`) whether any worker serves `service`. */
  serviceAvailable(service: string): Promise<boolean> {
    return serviceAvailable((s, b) => this.request(s, b), service);
  }

  /** Fails every pending request with reason "closed" and closes the socket. */
  close(): void {
    this.core.close();
  }
}
