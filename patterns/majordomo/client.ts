import type { Observable } from "rxjs";
import type { MajordomoClientEvent } from "./events";
import type { ClientCore } from "./client-core";
import { createClientCore, serviceAvailable, type MajordomoClientOptions } from "./client-options";
import type { Body } from "./frames";

/**
 * A synchronous-style Majordomo client: one request at a time, like a REQ
 * socket (later calls wait their turn), with Lazy Pirate recovery: when no
 * reply comes within `timeout`, the socket is closed, a new one opened and
 * the request resent, up to `retries` times.
 *
 * @example
 * ```ts
 * const client = new MajordomoClient({ broker: "tcp://127.0.0.1:5555" });
 * const reply = await lastValueFrom(client.request("echo", "hello"));
 * client.close();
 * ```
 */
export class MajordomoClient {
  /**
   * What the client does: requests sent, replies, timeouts, retries, giving
   * up, error replies, fresh sockets and the socket's connection to the
   * broker coming and going. Completes after `{ type: "close" }`.
   */
  readonly events$: Observable<MajordomoClientEvent>;

  private readonly core: ClientCore;

  constructor(options: MajordomoClientOptions) {
    this.core = createClientCore(options, "single", "mdp-client");
    this.events$ = this.core.events$;
  }

  /**
   * Sends a request when subscribed. Emits each reply (several PARTIALs and
   * the FINAL with MDP 0.2, one REPLY with 0.1) and completes; errors with a
   * MajordomoError on timeout after every retry, on an error reply from the
   * broker or worker (e.g. `service-unavailable`), or when the client closes.
   * Unsubscribing abandons the request.
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
