import fc from "fast-check";
import { SubscriptionTrie } from "../../src/routing/subscription-trie";

const b = (text: string): Buffer => Buffer.from(text);

function entriesOf(trie: SubscriptionTrie): Array<[string, number]> {
  return [...trie.entries()].map(([topic, count]): [string, number] => [topic.toString("latin1"), count]).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

describe("SubscriptionTrie", () => {
  it("matches messages that start with a subscribed topic", () => {
    const trie = new SubscriptionTrie();
    trie.add(b("weather."));
    expect(trie.matches(b("weather.paris"))).toBe(true);
    expect(trie.matches(b("weather."))).toBe(true);
    expect(trie.matches(b("weather"))).toBe(false);
    expect(trie.matches(b("news"))).toBe(false);
    expect(trie.matches(b(""))).toBe(false);
  });

  it("matches nothing when empty", () => {
    const trie = new SubscriptionTrie();
    expect(trie.matches(b("anything"))).toBe(false);
    expect(trie.matches(Buffer.alloc(0))).toBe(false);
    expect(trie.size).toBe(0);
  });

  it("lets the empty topic match everything, including empty messages", () => {
    const trie = new SubscriptionTrie();
    expect(trie.add(Buffer.alloc(0))).toBe(true);
    expect(trie.matches(Buffer.alloc(0))).toBe(true);
    expect(trie.matches(Buffer.from([0, 1, 255]))).toBe(true);
  });

  it("counts subscriptions: subscribing twice needs two cancels (RFC 29/37)", () => {
    const trie = new SubscriptionTrie();
    expect(trie.add(b("A"))).toBe(true);
    expect(trie.add(b("A"))).toBe(false);
    expect(trie.size).toBe(1);
    expect(trie.remove(b("A"))).toBe(false);
    expect(trie.matches(b("Apple"))).toBe(true);
    expect(trie.remove(b("A"))).toBe(true);
    expect(trie.matches(b("Apple"))).toBe(false);
    expect(trie.size).toBe(0);
  });

  it("ignores cancels of topics never subscribed, including prefixes of real ones", () => {
    const trie = new SubscriptionTrie();
    trie.add(b("abc"));
    expect(trie.remove(b("x"))).toBe(false);
    expect(trie.remove(b("ab"))).toBe(false);
    expect(trie.remove(b("abcd"))).toBe(false);
    expect(trie.remove(Buffer.alloc(0))).toBe(false);
    expect(trie.matches(b("abc"))).toBe(true);
    expect(entriesOf(trie)).toEqual([["abc", 1]]);
  });

  it("keeps a longer topic when a shorter one on its path goes, and the other way round", () => {
    const trie = new SubscriptionTrie();
    trie.add(b("a"));
    trie.add(b("abc"));
    trie.remove(b("a"));
    expect(trie.matches(b("ab"))).toBe(false);
    expect(trie.matches(b("abcd"))).toBe(true);
    trie.add(b("a"));
    trie.remove(b("abc"));
    expect(trie.matches(b("ab"))).toBe(true);
    expect(entriesOf(trie)).toEqual([["a", 1]]);
  });

  it("lists every topic with its count, binary topics included", () => {
    const trie = new SubscriptionTrie();
    trie.add(b("x"));
    trie.add(b("x"));
    trie.add(Buffer.alloc(0));
    trie.add(Buffer.from([0, 255]));
    expect(entriesOf(trie)).toEqual([
      ["", 1],
      ["\u0000\u00ff", 1],
      ["x", 2],
    ]);
    expect(trie.size).toBe(3);
  });

  it("forgets everything on clear", () => {
    const trie = new SubscriptionTrie();
    trie.add(Buffer.alloc(0));
    trie.add(b("a"));
    trie.clear();
    expect(trie.size).toBe(0);
    expect(trie.matches(b("a"))).toBe(false);
    expect([...trie.entries()]).toEqual([]);
  });

  it("behaves like a counted list of prefixes under any sequence of adds and removes", () => {
    // Topics over a 2-letter alphabet collide on prefixes often.
    const topic = fc.stringMatching(/^[ab]{0,4}$/);
    const op = fc.tuple(fc.boolean(), topic);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(fc.stringMatching(/^[ab]{0,6}$/), { maxLength: 20 }), (ops, probes) => {
        const trie = new SubscriptionTrie();
        const model = new Map<string, number>();
        for (const [add, t] of ops) {
          const count = model.get(t) ?? 0;
          if (add) {
            expect(trie.add(b(t))).toBe(count === 0);
            model.set(t, count + 1);
          } else {
            expect(trie.remove(b(t))).toBe(count === 1);
            if (count === 1) model.delete(t);
            else if (count > 1) model.set(t, count - 1);
          }
        }
        expect(trie.size).toBe(model.size);
        expect(entriesOf(trie)).toEqual([...model.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
        for (const probe of probes) {
          const expected = [...model.keys()].some((t) => probe.startsWith(t));
          expect([probe, trie.matches(b(probe))]).toEqual([probe, expected]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
