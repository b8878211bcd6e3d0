import { rmSync } from "node:fs";
import * as zmq from "zeromq";
import * as pv from "../../../src";
import type { SocketEvent, SocketType } from "../../../src";
import { bindAddress, nextEvent, type TransportName } from "../../helpers/endpoints";

/** Which implementation plays a side of a pairing. */
export type Library = "privateer" | "libzmq";

export type Frame = string | Buffer;

/** Options both libraries understand under the same names. */
export interface CommonOptions {
  routingId?: string;
  heartbeatInterval?: number;
  heartbeatTimeout?: number;
  heartbeatTimeToLive?: number;
  /** ROUTER only: fail loudly instead of dropping messages to peers not yet known. */
  mandatory?: boolean;
}

/**
 * One end of a connection, hiding which library drives it, so the exchange
 * table can describe a pairing once and run it in either orientation.
 */
export interface Side {
  readonly lib: Library;
  readonly type: SocketType;
  send(frames: Frame[]): Promise<void>;
  receive(): Promise<Buffer[]>;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
}

type PrivateerSocket = pv.SocketBase;

const PRIVATEER: Record<SocketType, (options: CommonOptions) => PrivateerSocket> = {
  PAIR: (o) => new pv.Pair(o),
  PUB: (o) => new pv.Publisher(o),
  SUB: (o) => new pv.Subscriber(o),
  XPUB: (o) => new pv.XPublisher(o),
  XSUB: (o) => new pv.XSubscriber(o),
  REQ: (o) => new pv.Request(o),
  REP: (o) => new pv.Reply(o),
  DEALER: (o) => new pv.Dealer(o),
  ROUTER: (o) => new pv.Router(o),
  PUSH: (o) => new pv.Push(o),
  PULL: (o) => new pv.Pull(o),
};

// zeromq.js types each constructor's options by its class; the options used here are valid for every type they are given to.
type ZmqOptions = Record<string, unknown>;
const LIBZMQ: Record<SocketType, (options: ZmqOptions) => zmq.Socket> = {
  PAIR: (o) => new zmq.Pair(o),
  PUB: (o) => new zmq.Publisher(o),
  SUB: (o) => new zmq.Subscriber(o),
  XPUB: (o) => new zmq.XPublisher(o),
  XSUB: (o) => new zmq.XSubscriber(o),
  REQ: (o) => new zmq.Request(o),
  REP: (o) => new zmq.Reply(o),
  DEALER: (o) => new zmq.Dealer(o),
  ROUTER: (o) => new zmq.Router(o),
  PUSH: (o) => new zmq.Push(o),
  PULL: (o) => new zmq.Pull(o),
};

interface Duplex {
  send(frames: Frame[]): Promise<void>;
  receive(): Promise<Buffer[]>;
}
interface Subscribing {
  subscribe(...topics: string[]): void;
  unsubscribe(...topics: string[]): void;
}

function capability<K extends keyof Duplex | keyof Subscribing>(socket: object, name: K, who: string): void {
  if (typeof (socket as Record<string, unknown>)[name] !== "function") throw new Error(`${who} cannot ${name}`);
}

function sideOf(lib: Library, type: SocketType, socket: object): Side {
  const who = `${lib} ${type}`;
  return {
    lib,
    type,
    send(frames) {
      capability(socket, "send", who);
      return (socket as Duplex).send(frames);
    },
    receive() {
      capability(socket, "receive", who);
      return (socket as Duplex).receive();
    },
    subscribe(topic) {
      capability(socket, "subscribe", who);
      (socket as Subscribing).subscribe(topic);
    },
    unsubscribe(topic) {
      capability(socket, "unsubscribe", who);
      (socket as Subscribing).unsubscribe(topic);
    },
  };
}

export type HandshakeEvent = Extract<SocketEvent, { type: "handshake" }>;

/**
 * Creates sockets of both libraries and remembers them, so each test's
 * afterEach closes everything it opened even when an assertion failed midway.
 */
export class Peers {
  private readonly privateer: PrivateerSocket[] = [];
  private readonly libzmq: zmq.Socket[] = [];
  private readonly ipcFiles = new Set<string>();

  privateerSocket<T extends PrivateerSocket = PrivateerSocket>(type: SocketType, options: CommonOptions = {}): T {
    const socket = PRIVATEER[type](options);
    this.privateer.push(socket);
    return socket as T;
  }

  libzmqSocket<T extends zmq.Socket = zmq.Socket>(type: SocketType, options: CommonOptions = {}): T {
    const socket = LIBZMQ[type]({ ...options });
    this.libzmq.push(socket);
    return socket as T;
  }

  /**
   * Binds a zeromq.js socket. The bundled libzmq leaves an ipc socket file
   * behind after close and unbind, so its path is remembered for closeAll().
   */
  async bindLibzmq(socket: zmq.Socket, transport: TransportName): Promise<string> {
    const address = bindAddress(transport);
    if (address.startsWith("ipc://")) this.ipcFiles.add(address.slice("ipc://".length));
    await socket.bind(address);
    return socket.lastEndpoint!;
  }

  closeAll(): void {
    for (const socket of this.privateer.splice(0)) {
      if (socket.closed) continue;
      socket.linger = 0;
      socket.close();
    }
    for (const socket of this.libzmq.splice(0)) {
      if (socket.closed) continue;
      socket.linger = 0;
      socket.close();
    }
    for (const file of this.ipcFiles) rmSync(file, { force: true });
    this.ipcFiles.clear();
  }
}

export const privateerSide = (type: SocketType, socket: PrivateerSocket): Side => sideOf("privateer", type, socket);
export const libzmqSide = (type: SocketType, socket: zmq.Socket): Side => sideOf("libzmq", type, socket);

/** Resolves on the zeromq.js socket's next handshake; call before bind/connect so the observer sees it. */
export function libzmqHandshake(socket: zmq.Socket, ms = 5000): Promise<void> {
  return libzmqEvent(socket, "handshake", ms);
}

/** Resolves on the next observer event of `type` on a zeromq.js socket, or rejects after `ms`. */
export function libzmqEvent(socket: zmq.Socket, type: zmq.EventType, ms = 5000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.events.off(type, listener);
      reject(new Error(`no ${type} event from the zeromq.js socket within ${ms} ms`));
    }, ms);
    const listener = (): void => {
      clearTimeout(timer);
      socket.events.off(type, listener);
      resolve();
    };
    socket.events.on(type, listener);
  });
}

/**
 * Binds one side and connects the other, then waits until both libraries
 * report a completed handshake, so neither side can race the other's pipe.
 * Returns the Privateer side's handshake event.
 */
export async function linkPeers(
  peers: Peers,
  privateerSocket: PrivateerSocket,
  libzmqSocket: zmq.Socket,
  binder: Library,
  transport: TransportName,
): Promise<HandshakeEvent> {
  const ours = nextEvent(privateerSocket, "handshake");
  const theirs = libzmqHandshake(libzmqSocket);
  if (binder === "privateer") {
    await privateerSocket.bind(bindAddress(transport));
    libzmqSocket.connect(privateerSocket.lastEndpoint!);
  } else {
    privateerSocket.connect(await peers.bindLibzmq(libzmqSocket, transport));
  }
  const [event] = await Promise.all([ours, theirs]);
  return event;
}

/**
 * Publishes until the subscriber receives something, for PUB sockets whose
 * view of a subscription cannot be observed: each round sends, then waits at
 * most `roundMs` for an arrival before sending again, for at most `rounds`
 * rounds. Returns the first message received.
 */
export async function publishUntilReceived(
  publish: () => Promise<void>,
  subscriber: Side,
  rounds = 200,
  roundMs = 10,
): Promise<Buffer[]> {
  const arrival = subscriber.receive();
  // If every round passes, the pending receive is rejected by close(); that must not surface as unhandled.
  arrival.catch(() => undefined);
  for (let round = 0; round < rounds; round++) {
    await publish();
    let timer: NodeJS.Timeout | undefined;
    const roundOver = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, roundMs, undefined);
    });
    const received = await Promise.race([arrival, roundOver]);
    clearTimeout(timer);
    if (received) return received;
  }
  throw new Error(`nothing arrived after publishing ${rounds} times`);
}

/**
 * Resolves after `ms` if the Privateer socket emitted no `type` event in that
 * window, and rejects as soon as one happens: the window is what is tested,
 * not a wait for something.
 */
export function expectNoEvent(socket: PrivateerSocket, type: SocketEvent["type"], ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const subscription = socket.events$.subscribe((event) => {
      if (event.type !== type) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      reject(new Error(`unexpected ${type} event: ${JSON.stringify(event, replacer)}`));
    });
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      resolve();
    }, ms);
  });
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/** Collects a zeromq.js socket's observer events of one type, to assert none happened. */
export function recordLibzmqEvents(socket: zmq.Socket, type: zmq.EventType): zmq.EventOfType[] {
  const seen: zmq.EventOfType[] = [];
  socket.events.on(type, (event) => seen.push(event));
  return seen;
}

export const texts = (frames: Buffer[]): string[] => frames.map((frame) => frame.toString());

/** `kind` (0x01 subscribe, 0x00 cancel) followed by the topic, as XPUB reports and XSUB sends. */
export function subscription(kind: 0 | 1, topic: string): Buffer {
  return Buffer.concat([Buffer.from([kind]), Buffer.from(topic)]);
}
