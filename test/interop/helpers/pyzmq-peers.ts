import {
  Dealer,
  Pair,
  PrivateerError,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
  XPublisher,
  XSubscriber,
  type SocketBase,
  type SocketEvent,
} from "../../../src";
import { bindAddress, closeAll, nextEvent, type TransportName } from "../../helpers/endpoints";
import type { PyzmqDriver, PyzmqSocket, PyzmqSocketType } from "./pyzmq-driver";

/**
 * One end of a conversation, whether a Privateer socket or a libzmq socket
 * in the driver, so each socket-type scenario is written once and run with
 * either library on either end.
 */
export interface Peer {
  readonly library: "privateer" | "pyzmq";
  readonly type: PyzmqSocketType;
  /** The routing id the socket announces, if any. */
  readonly routingId?: string;
  /** Binds a fresh address of `transport` and resolves with the resolved endpoint. */
  bind(transport: TransportName): Promise<string>;
  /** Connects; with `awaitHandshake`, resolves only once this side has finished the ZMTP handshake. */
  connect(endpoint: string, options?: { routingId?: string; awaitHandshake?: boolean }): Promise<void>;
  send(frames: readonly (Buffer | string)[]): Promise<void>;
  /** The next message; rejects if none arrives within `timeoutMs`. */
  receive(timeoutMs?: number): Promise<Buffer[]>;
  /** The next message, or undefined if none arrives within `timeoutMs`. */
  tryReceive(timeoutMs: number): Promise<Buffer[] | undefined>;
  /** SUB only. */
  subscribe(topic: string): Promise<void>;
  close(): Promise<void>;
}

type PrivateerSocket =
  | Pair
  | Publisher
  | Subscriber
  | XPublisher
  | XSubscriber
  | Request
  | Reply
  | Dealer
  | Router
  | Push
  | Pull;

/** A Privateer socket of the given libzmq type. */
export function privateerSocket(type: PyzmqSocketType, routingId?: string): PrivateerSocket {
  const options = routingId === undefined ? {} : { routingId };
  switch (type) {
    case "PAIR":
      return new Pair(options);
    case "PUB":
      return new Publisher(options);
    case "SUB":
      return new Subscriber(options);
    case "XPUB":
      return new XPublisher(options);
    case "XSUB":
      return new XSubscriber(options);
    case "REQ":
      return new Request(options);
    case "REP":
      return new Reply(options);
    case "DEALER":
      return new Dealer(options);
    case "ROUTER":
      return new Router(options);
    case "PUSH":
      return new Push(options);
    case "PULL":
      return new Pull(options);
  }
}

export class PrivateerPeer implements Peer {
  readonly library = "privateer";

  constructor(
    readonly socket: PrivateerSocket,
    readonly routingId?: string,
  ) {}

  get type(): PyzmqSocketType {
    return this.socket.type as PyzmqSocketType;
  }

  async bind(transport: TransportName): Promise<string> {
    await this.socket.bind(bindAddress(transport));
    return this.socket.lastEndpoint!;
  }

  async connect(endpoint: string, options: { routingId?: string; awaitHandshake?: boolean } = {}): Promise<void> {
    const handshake = options.awaitHandshake ? nextEvent(this.socket, "handshake") : undefined;
    this.socket.connect(endpoint, { routingId: options.routingId });
    await handshake;
  }

  async send(frames: readonly (Buffer | string)[]): Promise<void> {
    if (!("send" in this.socket)) throw new Error(`a Privateer ${this.type} cannot send`);
    await this.socket.send(frames);
  }

  async receive(timeoutMs = 5000): Promise<Buffer[]> {
    const message = await this.tryReceive(timeoutMs);
    if (!message) throw new Error(`Privateer ${this.type} received nothing within ${timeoutMs} ms`);
    return message;
  }

  async tryReceive(timeoutMs: number): Promise<Buffer[] | undefined> {
    if (!("receive" in this.socket)) throw new Error(`a Privateer ${this.type} cannot receive`);
    // The socket's own timeout, not a race: an abandoned receive() would swallow the next message.
    this.socket.receiveTimeout = timeoutMs;
    try {
      return await this.socket.receive();
    } catch (error) {
      if (error instanceof PrivateerError && error.code === "EAGAIN" && !this.socket.closed) return undefined;
      throw error;
    } finally {
      if (!this.socket.closed) this.socket.receiveTimeout = -1;
    }
  }

  async subscribe(topic: string): Promise<void> {
    if (!(this.socket instanceof Subscriber)) throw new Error(`a Privateer ${this.type} has no subscribe()`);
    this.socket.subscribe(topic);
  }

  async close(): Promise<void> {
    closeAll(this.socket);
  }
}

export class PyzmqPeer implements Peer {
  readonly library = "pyzmq";

  constructor(
    readonly socket: PyzmqSocket,
    readonly routingId?: string,
  ) {}

  static async open(driver: PyzmqDriver, type: PyzmqSocketType, routingId?: string): Promise<PyzmqPeer> {
    const socket = await driver.socket(type, routingId === undefined ? {} : { routing_id: routingId });
    return new PyzmqPeer(socket, routingId);
  }

  get type(): PyzmqSocketType {
    return this.socket.type;
  }

  bind(transport: TransportName): Promise<string> {
    return this.socket.bind(bindAddress(transport));
  }

  connect(endpoint: string, options: { routingId?: string; awaitHandshake?: boolean } = {}): Promise<void> {
    return this.socket.connect(endpoint, {
      routingId: options.routingId,
      awaitHandshakeMs: options.awaitHandshake ? 5000 : undefined,
    });
  }

  send(frames: readonly (Buffer | string)[]): Promise<void> {
    return this.socket.send(frames);
  }

  receive(timeoutMs = 5000): Promise<Buffer[]> {
    return this.socket.receive(timeoutMs);
  }

  tryReceive(timeoutMs: number): Promise<Buffer[] | undefined> {
    return this.socket.tryReceive(timeoutMs);
  }

  subscribe(topic: string): Promise<void> {
    return this.socket.subscribe(topic);
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}

/**
 * Publishes `probe` until `subscriber` receives a message, for at most
 * `attempts` rounds: the only way to know a subscription reached a PUB,
 * which reports nothing. Resolves with how many probes were sent.
 */
export async function publishUntilReceived(
  publisher: Peer,
  subscriber: Peer,
  probe: readonly (Buffer | string)[],
  attempts = 100,
): Promise<number> {
  for (let sent = 1; sent <= attempts; sent++) {
    await publisher.send(probe);
    if (await subscriber.tryReceive(50)) return sent;
  }
  throw new Error(`no probe reached the ${subscriber.library} ${subscriber.type} after ${attempts} attempts`);
}

/**
 * Receives on `receiver` while nudging `idle` between attempts, for at most
 * `attempts` rounds. libzmq attaches a connection accepted by a bound socket
 * only when the application next calls into that socket, so a bound pyzmq
 * SUB that merely subscribes never sends the subscription: it needs a poll.
 */
export async function receiveWhileNudging(receiver: Peer, idle: Peer, attempts = 100): Promise<Buffer[]> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const message = await receiver.tryReceive(20);
    if (message) return message;
    const stray = await idle.tryReceive(0);
    if (stray) throw new Error(`the ${idle.library} ${idle.type} unexpectedly received ${stray.length} frame(s)`);
  }
  throw new Error(`the ${receiver.library} ${receiver.type} received nothing after ${attempts} attempts`);
}

/** Receives until a message that `isProbe` rejects, so stragglers from publishUntilReceived are skipped. */
export async function receiveAfterProbes(peer: Peer, isProbe: (message: Buffer[]) => boolean): Promise<Buffer[]> {
  for (;;) {
    const message = await peer.receive();
    if (!isProbe(message)) return message;
  }
}

/** Collects every event of `type` a Privateer socket emits until the returned function is called. */
export function recordEvents<T extends SocketEvent["type"]>(
  socket: SocketBase,
  type: T,
): () => Extract<SocketEvent, { type: T }>[] {
  const seen: Extract<SocketEvent, { type: T }>[] = [];
  const subscription = socket.events$.subscribe((event) => {
    if (event.type === type) seen.push(event as Extract<SocketEvent, { type: T }>);
  });
  return () => {
    subscription.unsubscribe();
    return seen;
  };
}
