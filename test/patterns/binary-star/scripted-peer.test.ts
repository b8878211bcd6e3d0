/**
 * One Privateer server against a scripted peer: a bare PUB the test writes
 * state messages on, and a bare SUB that reads what the server publishes.
 * Drives the split-brain rows through real sockets, with and without term
 * frames, and checks what goes on the wire.
 */
import { filter, firstValueFrom, timeout } from "rxjs";
import { Publisher, Subscriber } from "../../../src";
import { BinaryStar, type BinaryStarEvent, type BinaryStarRole } from "../../../patterns/binary-star";
import { advanceWithIo, virtualScheduler } from "../../helpers/clock";
import { inprocPair, ofType, record } from "./pair";

const HB = 1000;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup(role: BinaryStarRole, terms = true) {
  const clock = virtualScheduler();
  const endpoints = inprocPair();
  const mine = role === "primary" ? endpoints.primary : endpoints.backup;
  const peerPub = new Publisher({ linger: 0 });
  await peerPub.bind(mine.stateSubscriber);
  const star = new BinaryStar({ role, endpoints: mine, heartbeat: HB, scheduler: clock, terms });
  const events = record(star);
  await star.start();
  const peerSub = new Subscriber({ linger: 0 });
  peerSub.subscribe("");
  peerSub.connect(mine.statePublisher);
  const heard: string[][] = [];
  peerSub.messages$.subscribe((message) => heard.push(message.map(String)));
  cleanup.push(() => peerSub.close(), () => peerPub.close(), () => star.close());
  // PUB drops what it sends before the subscription reaches it: wait for one heartbeat to arrive.
  await advanceWithIo(clock, HB + 10);
  await waitFor(() => heard.length > 0);
  /** Publishes one state message as the peer and lets the server read it. */
  const say = async (...frames: string[]) => {
    await peerPub.send(frames);
    await advanceWithIo(clock, 10);
  };
  return { star, events, heard, say, clock };
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const splits = (events: BinaryStarEvent[]) => ofType(events, "split-brain");

describe("a server against a scripted peer", () => {
  it("publishes the guide's digit and the term frame, and only the digit with terms off", async () => {
    const withTerms = await setup("primary");
    expect(withTerms.heard[0]).toEqual(["1", "term:0"]);
    const without = await setup("backup", false);
    expect(without.heard[0]).toEqual(["2"]);
  });

  it("dual passive, primary: it takes over and says so on the wire", async () => {
    const { star, events, heard, say } = await setup("primary");
    await say("3", "term:4");
    expect(star.state).toBe("passive");
    await say("4", "term:4");
    expect(star.state).toBe("active");
    expect(star.term).toBe(5);
    expect(splits(events)).toEqual([{ type: "split-brain", kind: "dual-passive", resolution: "took-over", rule: "role", term: 5, peerTerm: 4 }]);
    // The change is published at once, not at the next heartbeat.
    await waitFor(() => heard.some((m) => m[0] === "3"));
    expect(heard.at(-1)).toEqual(["3", "term:5"]);
  });

  it("dual passive, backup: it stays passive and waits for the primary to take over", async () => {
    const { star, events, say } = await setup("backup");
    await say("3");
    await say("4");
    expect(star.state).toBe("passive");
    expect(splits(events)).toEqual([{ type: "split-brain", kind: "dual-passive", resolution: "stayed-passive", rule: "role", term: 0, peerTerm: undefined }]);
  });

  it("dual active with terms: the higher term stays, the lower one steps down", async () => {
    const { star, events, say } = await setup("primary");
    await say("2", "term:0");
    expect(star.state).toBe("active");
    expect(star.term).toBe(1);
    await say("3", "term:0");
    expect(star.state).toBe("active");
    await say("3", "term:9");
    expect(star.state).toBe("passive");
    expect(splits(events).map((s) => [s.resolution, s.rule])).toEqual([
      ["stayed-active", "term"],
      ["stepped-down", "term"],
    ]);
    expect(star.vote()).toBe(false);
  });

  it("dual active against a peer without terms (a guide server): this server yields", async () => {
    const { star, events, say } = await setup("primary");
    await say("2");
    expect(star.state).toBe("active");
    await say("3");
    expect(star.state).toBe("passive");
    expect(splits(events)).toEqual([{ type: "split-brain", kind: "dual-active", resolution: "stepped-down", rule: "no-peer-term", term: 1, peerTerm: undefined }]);
  });

  it("ignores and reports a state message that is not one of the four digits", async () => {
    const { star, events, say } = await setup("backup");
    await say("9");
    await say("3", "term:x");
    expect(star.state).toBe("backup");
    expect(ofType(events, "bad-state").map((e) => e.reason)).toEqual(['unknown state "9"', 'bad term "term:x"']);
    await say("3", "term:2");
    await firstValueFrom(star.state$.pipe(filter((s) => s === "passive"), timeout(1000)));
  });
});
