/**
 * Paranoid Pirate (RFC 6/PPP) under the same process faults as Majordomo: a
 * queue and three workers in containers, six Lazy Pirate clients in the test
 * process. Unlike the Majordomo broker, the queue does not requeue a request
 * whose worker died; the client's retry is what recovers it, so the timeouts
 * here are shorter. See docs/chaos.md.
 */
import { LazyPirateClient, PirateError } from "../patterns/pirate";
import type { Timing } from "./lib/cluster";
import { describeChaos, standardSchedules } from "./lib/suite";

const TIMING_RECONNECT_MS = 250;
const TIMING: Timing = {
  heartbeatMs: 250,
  liveness: 4,
  reconnectMs: TIMING_RECONNECT_MS,
  // The queue has no request expiry; unused by its entry script.
  requestTimeoutMs: 0,
  workMs: 100,
};
// Above the worst queueing delay (six clients, three workers, 100 ms of work),
// so a retry means a request really went missing. Six retries: 6 × 1.5 s must
// outlast a queue restart plus the workers' reconnect backoff (computed per
// scenario in chaos/lib/expectations.ts; five would not cover the worst case).
const CLIENT = { timeoutMs: 1500, retries: 6 };
// The default doubling up to 32 s would outlast a whole scenario (ppp-worker.ts).
const RECONNECT_MAX_MS = TIMING_RECONNECT_MS * 8;

describeChaos(
  "Paranoid Pirate under process faults (containers)",
  {
    name: "paranoid-pirate",
    scripts: { broker: "ppp-queue.js", worker: "ppp-worker.js" },
    separateBackend: true,
    timing: TIMING,
    concurrency: 6,
    client: CLIENT,
    workerReconnectMaxMs: RECONNECT_MAX_MS,
    // The queue never requeues: every recovery from a lost worker is the client's resend.
    recovery: {
      "kill-worker": { midRequestKills: 1, retries: 1, ackedAfterRetry: 1 },
      "pause-worker": { workersExpired: 1, retries: 1, ackedAfterRetry: 1 },
      "restart-broker": { retries: 1, ackedAfterRetry: 1 },
      // The freeze (2 s at least) outlasts both the client timeout and the workers' expiry.
      "pause-broker": { workerReconnects: 1, retries: 1, ackedAfterRetry: 1 },
      "combined": { midRequestKills: 1, retries: 1, ackedAfterRetry: 1 },
    },
    makeClient: (endpoint) => {
      const client = new LazyPirateClient(endpoint, { timeout: CLIENT.timeoutMs, retries: CLIENT.retries });
      return {
        request: (_service, body) => client.request(body),
        close: () => client.close(),
        events$: client.events$,
      };
    },
    isTypedError: (error): error is PirateError => error instanceof PirateError,
    service: "unused",
  },
  standardSchedules(TIMING),
);
