import { Subject } from "rxjs";
import { virtualClock } from "../../helpers/clock";
import { BrokerEngine, type BrokerEngineOptions, type BrokerEvent, type LinkEvent, type MdpLink } from "privateer/internal";

/** An in-memory link: what the code under test sends is recorded, and the test plays the broker. */
export class FakeLink implements MdpLink {
  readonly inbox = new Subject<Buffer[]>();
  readonly messages$ = this.inbox.asObservable();
  readonly connection = new Subject<LinkEvent>();
  readonly events$ = this.connection.asObservable();
  readonly sent: Buffer[][] = [];
  closed = false;

  send(frames: Buffer[]): void {
    if (!this.closed) this.sent.push(frames);
  }
  close(): void {
    this.closed = true;
    this.inbox.complete();
  }
  deliver(frames: Buffer[]): void {
    this.inbox.next(frames);
  }
  /** Plays the transport reporting a handshake with, or the loss of, the broker. */
  report(type: LinkEvent["type"]): void {
    this.connection.next({ type });
  }
}

/** A link factory that remembers every link it made. */
export function fakeLinks(): { links: FakeLink[]; factory: () => FakeLink; last(): FakeLink } {
  const links: FakeLink[] = [];
  return {
    links,
    factory: () => {
      const link = new FakeLink();
      links.push(link);
      return link;
    },
    last: () => links[links.length - 1]!,
  };
}

export const b = (text: string): Buffer => Buffer.from(text, "latin1");
export const strings = (frames: Buffer[]): string[] => frames.map((f) => f.toString("latin1"));

/**
 * A broker engine on virtual time whose sent frames and events are recorded,
 * for tests that play every client and worker themselves. `to(peer)` is what
 * the engine sent to that peer, without the routing id frame.
 */
export function engineHarness(options: BrokerEngineOptions = {}) {
  const clock = virtualClock();
  const sent: Buffer[][] = [];
  const engine = new BrokerEngine((frames) => sent.push(frames), {
    heartbeatInterval: 1000,
    heartbeatLiveness: 3,
    scheduler: clock.scheduler,
    ...options,
  });
  const events: BrokerEvent[] = [];
  let completed = false;
  engine.events$.subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
  engine.start();
  const to = (peer: string) => sent.filter((frames) => frames[0]!.equals(b(peer))).map((frames) => frames.slice(1));
  return {
    clock,
    engine,
    events,
    sent,
    to,
    completed: () => completed,
    ofType: <T extends BrokerEvent["type"]>(type: T) => events.filter((e): e is Extract<BrokerEvent, { type: T }> => e.type === type),
  };
}
