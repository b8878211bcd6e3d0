import type { Message } from "../../src/codec/frame";
import { Pipe } from "../../src/pipe/pipe";
import { LoadBalancer } from "../../src/routing/load-balancer";

const msg = (text: string): Message => [Buffer.from(text)];

function pipe(sendHighWaterMark = 0): Pipe {
  return new Pipe("inproc://lb-test", sendHighWaterMark, 0, false);
}

/** Everything queued on a pipe's outbound side, as strings, emptying it. */
function sent(p: Pipe): string[] {
  const out: string[] = [];
  for (let m = p.takeOutbound(); m !== undefined; m = p.takeOutbound()) out.push(m.map((f) => f.toString()).join("|"));
  return out;
}

describe("LoadBalancer", () => {
  it("sends round-robin, one whole message per pipe in turn", () => {
    const lb = new LoadBalancer();
    const [a, b, c] = [pipe(), pipe(), pipe()];
    for (const p of [a, b, c]) lb.add(p);
    const targets = Array.from({ length: 7 }, (_, i) => lb.send([Buffer.from(`m${i}`), Buffer.from("part2")]));
    expect(targets).toEqual([a, b, c, a, b, c, a]);
    expect(sent(a)).toEqual(["m0|part2", "m3|part2", "m6|part2"]);
    expect(sent(b)).toEqual(["m1|part2", "m4|part2"]);
    expect(sent(c)).toEqual(["m2|part2", "m5|part2"]);
  });

  it("skips full pipes instead of waiting on them", () => {
    const lb = new LoadBalancer();
    const [a, b, c] = [pipe(), pipe(1), pipe()];
    for (const p of [a, b, c]) lb.add(p);
    expect(lb.send(msg("1"))).toBe(a);
    expect(lb.send(msg("2"))).toBe(b); // b is now full
    expect(lb.send(msg("3"))).toBe(c);
    expect(lb.send(msg("4"))).toBe(a);
    expect(lb.send(msg("5"))).toBe(c);
    expect(sent(b)).toEqual(["2"]);
    // b has room again and rejoins the rotation where it stands.
    expect(lb.send(msg("6"))).toBe(a);
    expect(lb.send(msg("7"))).toBe(b);
  });

  it("returns undefined and reports not writable when every pipe is full", () => {
    const lb = new LoadBalancer();
    const [a, b] = [pipe(1), pipe(1)];
    lb.add(a);
    lb.add(b);
    expect(lb.writable).toBe(true);
    lb.send(msg("1"));
    lb.send(msg("2"));
    expect(lb.writable).toBe(false);
    expect(lb.send(msg("3"))).toBeUndefined();
    expect(a.outboundLength + b.outboundLength).toBe(2);
    sent(a);
    expect(lb.writable).toBe(true);
  });

  it("has nowhere to send with no pipes", () => {
    const lb = new LoadBalancer();
    expect(lb.size).toBe(0);
    expect(lb.writable).toBe(false);
    expect(lb.send(msg("x"))).toBeUndefined();
  });

  it("adds a pipe once however often it is added", () => {
    const lb = new LoadBalancer();
    const a = pipe();
    lb.add(a);
    lb.add(a);
    expect(lb.size).toBe(1);
  });

  it("keeps the rotation fair when pipes are removed before or at the next one", () => {
    const lb = new LoadBalancer();
    const [a, b, c] = [pipe(), pipe(), pipe()];
    for (const p of [a, b, c]) lb.add(p);
    expect(lb.send(msg("1"))).toBe(a); // next is b
    lb.remove(a);
    expect(lb.send(msg("2"))).toBe(b); // next is c
    lb.remove(c);
    expect(lb.send(msg("3"))).toBe(b);
    lb.remove(b);
    expect(lb.size).toBe(0);
    expect(lb.send(msg("4"))).toBeUndefined();
    lb.remove(b); // removing twice is harmless
  });

  it("keeps the rotation fair when a pipe after the next one is removed", () => {
    const lb = new LoadBalancer();
    const [a, b, c, d] = [pipe(), pipe(), pipe(), pipe()];
    for (const p of [a, b, c, d]) lb.add(p);
    lb.send(msg("1")); // a; next is b
    lb.remove(c);
    expect([lb.send(msg("2")), lb.send(msg("3")), lb.send(msg("4"))]).toEqual([b, d, a]);
  });

  it("skips closed pipes", () => {
    const lb = new LoadBalancer();
    const [a, b] = [pipe(), pipe()];
    lb.add(a);
    lb.add(b);
    a.close();
    expect([lb.send(msg("1")), lb.send(msg("2"))]).toEqual([b, b]);
  });
});
