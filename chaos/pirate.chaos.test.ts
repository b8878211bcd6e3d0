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

const TIMING: Timing = {
  heartbeatMs: 250,
  liveness: 4,
  reconnectMs: 250,
  // The queue has no request expiry; unused by its entry script.
  requestTimeoutMs: 0,
  workMs: 100,
};
// Above the worst queueing delay (six clients, three workers, 100 ms of work),
// so a retry means a request really went missing; six attempts outlast a queue restart.
const TIMEOUT_MS = 1500;
const RETRIES = 5;

describeChaos(
  "Paranoid Pirate under process faults (containers)",
  {
    name: "paranoid-pirate",
    scripts: { broker: "ppp-queue.js", worker: "ppp-worker.js" },
    separateBackend: true,
    timing: TIMING,
    concurrency: 6,
    clientGiveUpMs: TIMEOUT_MS * (RETRIES + 1),
    makeClient: (endpoint) => {
      const client = new LazyPirateClient(endpoint, { timeout: TIMEOUT_MS, retries: RETRIES });
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
