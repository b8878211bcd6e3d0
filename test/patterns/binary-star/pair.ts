import type { BinaryStar, BinaryStarEndpoints, BinaryStarEvent } from "../../../patterns/binary-star";
import { freePorts } from "../../helpers/free-address";

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
 * The endpoints of a pair over tcp on loopback, on four free ports: each
 * server connects to the other's publisher, so the ports are needed before
 * either starts, and a restarted server binds the same ones again.
 */
export async function tcpPair(): Promise<{ primary: BinaryStarEndpoints; backup: BinaryStarEndpoints }> {
  const [pf, pp, bf, bp] = (await freePorts(4)).map((port) => `tcp://127.0.0.1:${port}`);
  return {
    primary: { frontend: pf!, statePublisher: pp!, stateSubscriber: bp! },
    backup: { frontend: bf!, statePublisher: bp!, stateSubscriber: pp! },
  };
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
