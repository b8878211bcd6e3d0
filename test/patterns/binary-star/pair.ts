import { createServer } from "node:net";
import type { TestScheduler } from "rxjs/testing";
import type { BinaryStar, BinaryStarEndpoints, BinaryStarEvent } from "../../../patterns/binary-star";
import { nextTurn } from "../../helpers/clock";

let counter = 0;

/** Endpoints for a pair in this process over inproc: each server's subscriber connects to the other's publisher. */
export function inprocPair(): { primary: BinaryStarEndpoints; backup: BinaryStarEndpoints } {
  const id = `${process.pid}-${++counter}`;
  const pub = (role: string) => `inproc://bstar-${id}-${role}-state`;
  return {
    primary: { frontend: `inproc://bstar-${id}-primary-frontend`, statePublisher: pub("primary"), stateSubscriber: pub("backup") },
    backup: { frontend: `inproc://bstar-${id}-backup-frontend`, statePublisher: pub("backup"), stateSubscriber: pub("primary") },
  };
}

/**
 * Free TCP ports on 127.0.0.1, held together until all are known so one call
 * never returns the same port twice. A pair over tcp needs its ports before
 * either server starts (each connects to the other's publisher), and a
 * restarted server binds the same ones again, so `tcp://127.0.0.1:*` cannot do.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => {
              const address = server.address();
              if (typeof address === "object" && address) resolve(address.port);
              else reject(new Error("no port"));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** The endpoints of a pair over tcp on loopback, on four free ports. */
export async function tcpPair(): Promise<{ primary: BinaryStarEndpoints; backup: BinaryStarEndpoints }> {
  const [pf, pp, bf, bp] = (await freePorts(4)).map((port) => `tcp://127.0.0.1:${port}`);
  return {
    primary: { frontend: pf!, statePublisher: pp!, stateSubscriber: bp! },
    backup: { frontend: bf!, statePublisher: bp!, stateSubscriber: pp! },
  };
}

/** Lets queued socket I/O run: a few turns of the event loop. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}

/**
 * Moves virtual time forward in `stepMs` steps, letting socket I/O run
 * between steps, so a state message published at one heartbeat is delivered
 * before the next.
 */
export async function run(scheduler: TestScheduler, ms: number, stepMs = 10): Promise<void> {
  const end = scheduler.now() + ms;
  while (scheduler.now() < end) {
    const target = Math.min(end, scheduler.now() + stepMs);
    scheduler.maxFrames = target;
    scheduler.flush();
    scheduler.frame = target;
    await settle();
  }
}

/** Records a server's events. */
export function record(star: BinaryStar): BinaryStarEvent[] {
  const seen: BinaryStarEvent[] = [];
  star.events$.subscribe((event) => seen.push(event));
  return seen;
}

/** The events of `type` among `events`. */
export function ofType<T extends BinaryStarEvent["type"]>(events: readonly BinaryStarEvent[], type: T): Array<Extract<BinaryStarEvent, { type: T }>> {
  return events.filter((event): event is Extract<BinaryStarEvent, { type: T }> => event.type === type);
}
