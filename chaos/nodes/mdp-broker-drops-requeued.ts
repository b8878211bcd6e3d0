/**
 * NEGATIVE CONTROL, deliberately broken: a Majordomo broker that silently
 * drops every requeued request. It is the real BrokerEngine on a ROUTER,
 * wired as MajordomoBroker wires it, except that the one send that hands a
 * requeued request to a worker (a dispatch whose attempt is above 1) is
 * thrown away. The engine still reports the requeue and the dispatch, so
 * the broker's own event log looks healthy; the clients' retries hide the
 * loss. chaos/majordomo.chaos.test.ts runs it and requires the suite's
 * checks to fail it, which is what shows the checks see through both.
 */
import { Router } from "../../src";
import { BrokerEngine } from "../../patterns/majordomo/broker-engine";
import type { BrokerEvent } from "../../patterns/majordomo";
import { exitOnTerm, record, required, requiredNumber } from "./env";

const INTERESTING = new Set<BrokerEvent["type"]>([
  "worker-ready",
  "worker-expired",
  "worker-disconnected",
  "request-requeued",
  "request-expired",
  "request-rejected",
  "request-abandoned",
  "protocol-error",
]);

async function main(): Promise<void> {
  const name = required("CHAOS_NAME");
  const router = new Router();
  // The engine sends a dispatch and then, synchronously, emits its
  // request-dispatched event; holding sends until the end of the current
  // task lets the event decide whether the send just made goes out.
  const outbox: Buffer[][] = [];
  let flushQueued = false;
  const flush = (): void => {
    flushQueued = false;
    for (const frames of outbox.splice(0)) {
      router.send(frames).catch(() => {
        // A peer gone is routine under chaos; the engine hears of it from the ROUTER's events.
      });
    }
  };
  const engine = new BrokerEngine(
    (frames) => {
      outbox.push(frames);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    },
    {
      heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
      heartbeatLiveness: requiredNumber("CHAOS_LIVENESS"),
      requestTimeout: requiredNumber("CHAOS_REQUEST_TIMEOUT_MS"),
    },
  );
  engine.events$.subscribe((event) => {
    if (event.type === "request-dispatched" && event.attempt > 1) {
      outbox.pop();
      record({ node: name, type: "broken-dropped-requeued", request: event.request });
    }
    if (INTERESTING.has(event.type)) record({ node: name, ...event });
  });
  router.messages$.subscribe((message) => engine.handle(message));
  router.events$.subscribe((event) => {
    if (event.type === "handshake" && event.routingId) engine.peerConnected(event.routingId);
    else if (event.type === "disconnect" && event.routingId) engine.peerDisconnected(event.routingId);
  });
  engine.start();
  const endpoint = `tcp://127.0.0.1:${requiredNumber("CHAOS_PORT")}`;
  await router.bind(endpoint);
  exitOnTerm(() => {
    engine.stop();
    router.linger = 0;
    router.close();
  });
  console.log(`READY broker ${name} ${endpoint} pid=${process.pid} (drops requeued requests)`);
}

main().catch((error: unknown) => {
  console.error("broker failed to start", error);
  process.exit(1);
});
