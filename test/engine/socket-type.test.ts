import {
  isCompatible,
  isPublisherType,
  isSocketType,
  isSubscriberType,
  sendsIdentity,
  type SocketType,
} from "../../src/engine/socket-type";

const TYPES: readonly SocketType[] = ["REQ", "REP", "DEALER", "ROUTER", "PUB", "XPUB", "SUB", "XSUB", "PUSH", "PULL", "PAIR"];

/** RFC 37 "The Socket-Type Property": the legal combinations, re-typed from its table. */
const RFC37_PAIRS: ReadonlyArray<readonly [SocketType, SocketType]> = [
  ["REQ", "REP"], ["REQ", "ROUTER"],
  ["REP", "REQ"], ["REP", "DEALER"],
  ["DEALER", "REP"], ["DEALER", "DEALER"], ["DEALER", "ROUTER"],
  ["ROUTER", "REQ"], ["ROUTER", "DEALER"], ["ROUTER", "ROUTER"],
  ["PUB", "SUB"], ["PUB", "XSUB"],
  ["XPUB", "SUB"], ["XPUB", "XSUB"],
  ["SUB", "PUB"], ["SUB", "XPUB"],
  ["XSUB", "PUB"], ["XSUB", "XPUB"],
  ["PUSH", "PULL"],
  ["PULL", "PUSH"],
  ["PAIR", "PAIR"],
];

describe("socket types", () => {
  it("allow exactly the pairings of RFC 37's table", () => {
    const legal = new Set(RFC37_PAIRS.map(([a, b]) => `${a}-${b}`));
    for (const ours of TYPES) {
      for (const theirs of TYPES) expect([ours, theirs, isCompatible(ours, theirs)]).toEqual([ours, theirs, legal.has(`${ours}-${theirs}`)]);
    }
  });

  it("is symmetric", () => {
    for (const a of TYPES) for (const b of TYPES) expect(isCompatible(a, b)).toBe(isCompatible(b, a));
  });

  it("rejects names it does not implement, and is case-sensitive as the RFC grammar is", () => {
    for (const name of ["CLIENT", "SERVER", "RADIO", "DISH", "PEER", "CHANNEL", "dealer", "", "toString", "__proto__"]) {
      expect([name, isSocketType(name)]).toEqual([name, false]);
      expect([name, isCompatible("DEALER", name)]).toEqual([name, false]);
    }
    for (const type of TYPES) expect(isSocketType(type)).toBe(true);
  });

  it("sends Identity for REQ, DEALER and ROUTER only (as libzmq does)", () => {
    expect(TYPES.filter(sendsIdentity)).toEqual(["REQ", "DEALER", "ROUTER"]);
  });

  it("classifies subscribers and publishers", () => {
    expect(TYPES.filter(isSubscriberType)).toEqual(["SUB", "XSUB"]);
    expect(TYPES.filter(isPublisherType)).toEqual(["PUB", "XPUB"]);
  });
});
