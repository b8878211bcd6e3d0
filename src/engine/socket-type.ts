/** ZMTP socket type names, as sent in the READY `Socket-Type` property. */
export type SocketType = "PAIR" | "PUB" | "SUB" | "REQ" | "REP" | "DEALER" | "ROUTER" | "PULL" | "PUSH" | "XPUB" | "XSUB";

const PEERS: Record<SocketType, readonly SocketType[]> = {
  PAIR: ["PAIR"],
  PUB: ["SUB", "XSUB"],
  XPUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
  XSUB: ["PUB", "XPUB"],
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
  DEALER: ["REP", "DEALER", "ROUTER"],
  ROUTER: ["REQ", "DEALER", "ROUTER"],
  PUSH: ["PULL"],
  PULL: ["PUSH"],
};

/** The valid socket-type pairings of RFC 23/37. */
export function isCompatible(ours: SocketType, theirs: string): boolean {
  return (PEERS[ours] as readonly string[]).includes(theirs);
}

export function isSocketType(name: string): name is SocketType {
  return Object.prototype.hasOwnProperty.call(PEERS, name);
}

/** libzmq sends the `Identity` property only for these types. */
export function sendsIdentity(type: SocketType): boolean {
  return type === "REQ" || type === "DEALER" || type === "ROUTER";
}

/** Types whose subscriptions go out as SUBSCRIBE/CANCEL commands to ZMTP 3.1 peers. */
export function isSubscriberType(type: SocketType): boolean {
  return type === "SUB" || type === "XSUB";
}

/** Types that receive subscriptions. */
export function isPublisherType(type: SocketType): boolean {
  return type === "PUB" || type === "XPUB";
}
