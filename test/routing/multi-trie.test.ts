import fc from "fast-check";
import { MultiTrie } from "../../src/routing/multi-trie";

const b = (text: string): Buffer => Buffer.from(text);

function matches<T>(trie: MultiTrie<T>, data: string): T[] {
  const seen = new Set<T>();
  trie.match(b(data), (member) => seen.add(member));
  return [...seen].sort();
}

/**
 * The trie's nodes are private; pruning is only visible inside. Reading the
 * root is the one way to prove removed topics leave no empty branches behind.
 */
function rootChildren(trie: MultiTrie<unknown>): number {
  const root = (trie as unknown as { root: { children?: Map<number, unknown> } }).root;
  return root.children?.size ?? 0;
}

describe("MultiTrie", () => {
  it("reports the first member of a topic, and a member added twice only once", () => {
    const trie = new MultiTrie<string>();
    expect(trie.add(b("a"), "p1")).toEqual({ added: true, firstForTopic: true });
    expect(trie.add(b("a"), "p2")).toEqual({ added: true, firstForTopic: false });
    expect(trie.add(b("a"), "p1")).toEqual({ added: false, firstForTopic: false });
    expect(trie.has(b("a"))).toBe(true);
  });

  it("does not count per member: one remove undoes two adds by the same member", () => {
    const trie = new MultiTrie<string>();
    trie.add(b("a"), "p1");
    trie.add(b("a"), "p1");
    expect(trie.remove(b("a"), "p1")).toEqual({ removed: true, lastForTopic: true });
    expect(trie.has(b("a"))).toBe(false);
  });

  it("reports when the last member of a topic leaves", () => {
    const trie = new MultiTrie<string>();
    trie.add(b("a"), "p1");
    trie.add(b("a"), "p2");
    expect(trie.remove(b("a"), "p1")).toEqual({ removed: true, lastForTopic: false });
    expect(trie.remove(b("a"), "p2")).toEqual({ removed: true, lastForTopic: true });
    expect(trie.remove(b("a"), "p2")).toEqual({ removed: false, lastForTopic: false });
    expect(trie.remove(b("zzz"), "p2")).toEqual({ removed: false, lastForTopic: false });
  });

  it("matches every member subscribed to any prefix of the data", () => {
    const trie = new MultiTrie<string>();
    trie.add(Buffer.alloc(0), "all");
    trie.add(b("w"), "w");
    trie.add(b("weather"), "weather");
    trie.add(b("weather.paris"), "paris");
    trie.add(b("news"), "news");
    expect(matches(trie, "weather.paris.today")).toEqual(["all", "paris", "w", "weather"]);
    expect(matches(trie, "weather.london")).toEqual(["all", "w", "weather"]);
    expect(matches(trie, "wea")).toEqual(["all", "w"]);
    expect(matches(trie, "")).toEqual(["all"]);
    expect(matches(trie, "sport")).toEqual(["all"]);
  });

  it("visits a member once per matching prefix it holds", () => {
    const trie = new MultiTrie<string>();
    trie.add(b("a"), "p");
    trie.add(b("ab"), "p");
    const visits: string[] = [];
    trie.match(b("abc"), (member) => visits.push(member));
    expect(visits).toEqual(["p", "p"]);
  });

  it("removes a member everywhere and names each topic left without members", () => {
    const trie = new MultiTrie<string>();
    trie.add(b("a"), "gone");
    trie.add(b("ab"), "gone");
    trie.add(b("ab"), "stays");
    trie.add(b("b"), "gone");
    trie.add(Buffer.alloc(0), "gone");
    const emptied: string[] = [];
    trie.removeMember("gone", (topic) => emptied.push(topic.toString()));
    expect(emptied.sort()).toEqual(["", "a", "b"]);
    expect(matches(trie, "abc")).toEqual(["stays"]);
    expect(trie.has(b("a"))).toBe(false);
    expect(trie.has(b("b"))).toBe(false);
    expect(trie.has(b("ab"))).toBe(true);
  });

  it("prunes branches that lead to no member", () => {
    const trie = new MultiTrie<string>();
    trie.add(b("abcdef"), "p");
    trie.add(b("abx"), "q");
    trie.remove(b("abcdef"), "p");
    expect(rootChildren(trie)).toBe(1);
    trie.remove(b("abx"), "q");
    expect(rootChildren(trie)).toBe(0);

    trie.add(b("a"), "p");
    trie.add(b("ab"), "p");
    trie.add(b("bc"), "p");
    trie.removeMember("p");
    expect(rootChildren(trie)).toBe(0);
  });

  it("keeps an inner topic when a longer topic through it is pruned", () => {
    const trie = new MultiTrie<string>();
    trie.add(b("a"), "short");
    trie.add(b("abc"), "long");
    trie.remove(b("abc"), "long");
    expect(matches(trie, "abc")).toEqual(["short"]);
    expect(trie.has(b("a"))).toBe(true);
  });

  it("agrees with a set-per-topic model under random operations", () => {
    const topic = fc.stringMatching(/^[ab]{0,3}$/);
    const member = fc.constantFrom("m1", "m2", "m3");
    const op = fc.oneof(
      fc.tuple(fc.constant("add" as const), topic, member),
      fc.tuple(fc.constant("remove" as const), topic, member),
      fc.tuple(fc.constant("removeMember" as const), fc.constant(""), member),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
        const trie = new MultiTrie<string>();
        const model = new Map<string, Set<string>>();
        for (const [kind, t, m] of ops) {
          if (kind === "add") {
            const members = model.get(t) ?? new Set<string>();
            expect(trie.add(b(t), m)).toEqual({ added: !members.has(m), firstForTopic: members.size === 0 });
            members.add(m);
            model.set(t, members);
          } else if (kind === "remove") {
            const members = model.get(t);
            const had = members?.delete(m) ?? false;
            expect(trie.remove(b(t), m)).toEqual({ removed: had, lastForTopic: had && members!.size === 0 });
            if (members?.size === 0) model.delete(t);
          } else {
            const expectedEmptied: string[] = [];
            for (const [key, members] of model) {
              if (members.delete(m) && members.size === 0) {
                expectedEmptied.push(key);
                model.delete(key);
              }
            }
            const emptied: string[] = [];
            trie.removeMember(m, (emptiedTopic) => emptied.push(emptiedTopic.toString()));
            expect(emptied.sort()).toEqual(expectedEmptied.sort());
          }
        }
        for (const probe of ["", "a", "b", "ab", "ba", "aaa", "abab", "bbbb"]) {
          const expected = new Set<string>();
          for (const [key, members] of model) if (probe.startsWith(key)) for (const m of members) expected.add(m);
          expect([probe, matches(trie, probe)]).toEqual([probe, [...expected].sort()]);
        }
        if (model.size === 0) expect(rootChildren(trie)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
