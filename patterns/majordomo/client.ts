import { MajordomoClientBase } from "./client-base";
import type { MajordomoClientOptions } from "./client-options";

/**
 * A synchronous-style Majordomo client: one request at a time, like a REQ
 * socket (later calls wait their turn), with Lazy Pirate recovery: when no
 * reply comes within `timeout`, the socket is closed, a new one opened and
 * the request resent, up to `retries` times.
 *
 * @example
 * ```ts
 * const client = new MajordomoClient({ broker: "tcp://127.0.0.1:5555" });
 * const reply = await client.call("echo", "hello", { timeout: 1000, signal: AbortSignal.timeout(5000) });
 * await client.close();
 * ```
 */
export class MajordomoClient extends MajordomoClientBase {
  constructor(options: MajordomoClientOptions) {
    super(options, "single", "mdp-client");
  }
}
