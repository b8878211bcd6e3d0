import { Subject } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import type { LinkEvent, MdpLink } from "privateer/internal";

/** A TestScheduler plus a way to move its clock forward by hand (periodic timers never let flush() finish). */
export function virtualClock(): { scheduler: TestScheduler; advance(ms: number): void; now(): number } {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  return {
    scheduler,
    now: () => scheduler.now(),
    advance(ms: number) {
      const target = scheduler.now() + ms;
      scheduler.maxFrames = target;
      scheduler.flush();
      scheduler.frame = target;
    },
  };
}

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
