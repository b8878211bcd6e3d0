import { MajordomoClientBase } from "./client-base";
import type { MajordomoClientOptions } from "./client-options";

/**
 * An asynchronous Majordomo client: many requests in flight over one DEALER.
 *
 * With a broker that speaks the request-id extension (a Privateer broker),
 * every request goes out at once (up to `maxInFlight`) and each reply is
 * matched to its request by the id the broker echoes, so requests to one
 * service are pipelined. With a plain MDP broker, whose replies name only
 * the service, requests to the same service are sent one after another (in
 * call order) while requests to different services run at once. Timeouts
 * and retries work as in {@link MajordomoClient}; a retry replaces the
 * socket and resends every request in flight, each with its own id (the
 * broker joins a resend to the original).
 *
 * @example
 * ```ts
 * const client = new MajordomoAsyncClient({ broker: "tcp://127.0.0.1:5555" });
 * client.request("ticker", "EURUSD").subscribe((part) => console.log(part.toString()));
 * ```
 */
export class MajordomoAsyncClient extends MajordomoClientBase {
  constructor(options: MajordomoClientOptions) {
    super(options, "service", "mdp-async-client");
  }
}
