import { lastValueFrom, type Observable } from "rxjs";
import type { ClientCore } from "./client-core";
import { createClientCore, serviceAvailable, type MajordomoClientOptions } from "./client-options";
import type { MajordomoClientEvent } from "./events";
import type { Body } from "./frames";
import type { MajordomoRequestOptions } from "./request-ids";

/**
 * What both Majordomo clients offer; they differ only in how many requests
 * they let out at once (`lanes`), which the shared core implements.
 */
export abstract class MajordomoClientBase {
  /**
   * What the client does: requests sent, replies, timeouts, retries, giving
   * up, error replies, fresh sockets and the socket's connection to the
   * broker coming and going. Completes after `{ type: "close" }`. Hot:
   * events are not replayed, so subscribe before the first request.
   */
  readonly events$: Observable<MajordomoClientEvent>;

  private readonly core: ClientCore;

  protected constructor(options: MajordomoClientOptions, lanes: "single" | "service", component: string) {
    this.core = createClientCore(options, lanes, component);
    this.events$ = this.core.events$;
  }

  /**
   * Sends a request when subscribed. Emits each reply (several PARTIALs and
   * the FINAL with MDP 0.2, one REPLY with 0.1) and completes; errors with a
   * MajordomoError on timeout after every retry, on an error reply from the
   * broker or worker (e.g. `service-unavailable`), when `options.signal`
   * fires (reason "aborted"), or when the client closes. `options` override
   * the client's `timeout` and `retries` for this request, and `options.id`
   * sets its request id (see {@link MajordomoRequestOptions.id}). Unsubscribing
   * abandons the request.
   */
  request(service: string, body: Body, options?: MajordomoRequestOptions): Observable<Buffer[]> {
    return this.core.request(service, body, options);
  }

  /**
   * {@link request} as a Promise of the final reply's frames (the last one
   * MDP delivered). Rejects with the same MajordomoErrors.
   */
  call(service: string, body: Body, options?: MajordomoRequestOptions): Promise<Buffer[]> {
    return lastValueFrom(this.request(service, body, options));
  }

  /** Asks the broker (8/MMI `mmi.service`) whether any worker serves `service`. */
  serviceAvailable(service: string): Promise<boolean> {
    return serviceAvailable((s, b) => this.request(s, b), service);
  }

  /**
   * Fails every pending request with reason "closed" and closes the socket.
   * Resolves once the socket is released (after the `close` event); calling
   * it again returns the same promise.
   */
  close(): Promise<void> {
    return this.core.close();
  }
}
