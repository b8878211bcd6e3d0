import type { Message } from "../../src/codec/frame";
import { Pipe } from "../../src/pipe/pipe";
import { FairQueue } from "../../src/routing/fair-queue";

function pipe(name: string, ...messages: string[]): Pipe {
  const p = new Pipe(`inproc://${name}`, 0, 0, false);
  for (const m of messages) p.deliver([Buffer.from(`${name}${m}`)]);
  return p;
}

const text = (message: Message | undefined): string | undefined => message?.map((f) => f.toString()).join("|");

function drain(fq: FairQueue): string[] {
  const out: string[] = [];
  for (let m = fq.receive(); m !== undefined; m = fq.receive()) out.push(text(m)!);
  return out;
}

describe("FairQueue", () => {
  it("takes one message from each pipe in turn", () => {
    const fq = new FairQueue();
    fq.activate(pipe("a", "1", "2", "3"));
    fq.activate(pipe("b", "1", "2", "3"));
    fq.activate(pipe("c", "1"));
    expect(drain(fq)).toEqual(["a1", "b1", "c1", "a2", "b2", "a3", "b3"]);
    expect(fq.readable).toBe(false);
  });

  it("does not let a chatty pipe starve a quiet one that becomes readable later", () => {
    const fq = new FairQueue();
    const chatty = pipe("x", ...Array.from({ length: 100 }, (_, i) => `${i}`));
    fq.activate(chatty);
    expect(text(fq.receive())).toBe("x0");
    const quiet = pipe("q", "!");
    fq.activate(quiet);
    const next = [fq.receive(), fq.receive(), fq.receive()].map(text);
    expect(next).toContain("q!");
    expect(next.filter((m) => m?.startsWith("x"))).toEqual(["x1", "x2"]);
  });

  it("keeps multipart messages whole", () => {
    const fq = new FairQueue();
    const a = new Pipe("inproc://mp", 0, 0, false);
    a.deliver([Buffer.from("k"), Buffer.alloc(0), Buffer.from("v")]);
    fq.activate(a);
    expect(fq.receive()).toEqual([Buffer.from("k"), Buffer.alloc(0), Buffer.from("v")]);
  });

  it("remembers which pipe the last message came from", () => {
    const fq = new FairQueue();
    const a = pipe("a", "1");
    const b = pipe("b", "1");
    fq.activate(a);
    fq.activate(b);
    fq.receive();
    expect(fq.lastPipe).toBe(a);
    fq.receive();
    expect(fq.lastPipe).toBe(b);
  });

  it("drops pipes that are empty and takes them back when activated again", () => {
    const fq = new FairQueue();
    const a = pipe("a", "1");
    const b = pipe("b");
    fq.activate(a);
    fq.activate(b);
    expect(drain(fq)).toEqual(["a1"]);
    b.deliver([Buffer.from("b1")]);
    fq.activate(b);
    expect(fq.readable).toBe(true);
    expect(drain(fq)).toEqual(["b1"]);
  });

  it("activates a pipe only once", () => {
    const fq = new FairQueue();
    const a = pipe("a", "1", "2");
    const b = pipe("b", "1", "2");
    fq.activate(a);
    fq.activate(a);
    fq.activate(b);
    expect(drain(fq)).toEqual(["a1", "b1", "a2", "b2"]);
  });

  it("stays fair when a pipe is removed mid-rotation", () => {
    const fq = new FairQueue();
    const [a, b, c] = [pipe("a", "1", "2"), pipe("b", "1", "2"), pipe("c", "1", "2")];
    for (const p of [a, b, c]) fq.activate(p);
    expect(text(fq.receive())).toBe("a1"); // next is b
    fq.remove(a);
    expect([fq.receive(), fq.receive(), fq.receive(), fq.receive()].map(text)).toEqual(["b1", "c1", "b2", "c2"]);
  });

  it("moves on to the following pipe when the next one is removed", () => {
    const fq = new FairQueue();
    const [a, b, c] = [pipe("a", "1", "2"), pipe("b", "1", "2"), pipe("c", "1", "2")];
    for (const p of [a, b, c]) fq.activate(p);
    fq.receive(); // a1; next is b
    fq.remove(b);
    fq.remove(b); // twice is harmless
    expect(drain(fq)).toEqual(["c1", "a2", "c2"]);
  });

  it("wraps around when the last pipe in the rotation is removed", () => {
    const fq = new FairQueue();
    const [a, b] = [pipe("a", "1", "2"), pipe("b", "1", "2")];
    fq.activate(a);
    fq.activate(b);
    fq.receive(); // a1
    fq.receive(); // b1; next wraps to a
    fq.remove(b);
    expect(drain(fq)).toEqual(["a2"]);
  });

  it("has nothing to give when no pipe is active", () => {
    const fq = new FairQueue();
    expect(fq.readable).toBe(false);
    expect(fq.receive()).toBeUndefined();
  });
});
