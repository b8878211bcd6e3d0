import { PrivateerError, ProtocolError } from "../errors";
import type { PeerInfo } from "../engine/peer";
import { isCompatible } from "../engine/socket-type";
import type { Pipe, PipeLink } from "../pipe/pipe";
import type { Endpoint } from "./endpoint";
import { ThreadRegistry } from "./threads/registry";
import type { Binding, ConnectOptions, Connection, Transport, TransportHost } from "./transport";

interface PendingConnect {
  readonly host: TransportHost;
  readonly options: ConnectOptions;
  readonly pipe?: Pipe;
  readonly connection: InprocConnection;
}

interface BoundName {
  readonly host: TransportHost;
  /** Connections accepted here, from this thread (InprocLink) or another (ThreadLink). */
  readonly links: Set<{ readonly pipe: Pipe }>;
}

/** Inproc names bound in this thread, and connects of this thread waiting for a bind. */
const bound = new Map<string, BoundName>();
const waiting = new Map<string, Set<PendingConnect>>();

/**
 * The cross-thread name service, made on the first inproc bind or waiting
 * connect: a program that binds and connects within one thread pays for it
 * once per endpoint, never per message.
 */
let registry: ThreadRegistry | undefined;
function threadRegistry(): ThreadRegistry {
  registry ??= new ThreadRegistry((name) => bound.get(name));
  return registry;
}

/**
 * One direction-pair of an inproc connection: the peer's inbound queue is
 * fed straight from our outbound queue, no encoding, so the effective
 * high-water mark is our send mark plus the peer's receive mark, as in
 * libzmq.
 */
class InprocLink implements PipeLink {
  peerLink?: InprocLink;
  /** Emits this side's "disconnect" event. */
  ended?: () => void;
  private scheduled = false;

  constructor(readonly pipe: Pipe) {}

  outboundReady(): void {
    // Deferred so that a send never runs the receiving socket's code inside the sender's call.
    // A microtask keeps libzmq's semantics: by the time the sender's `await` resumes, the
    // message sits in the peer's queue (so both high-water marks count, as in libzmq).
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.transfer();
    });
  }

  inboundDrained(): void {
    this.peerLink?.outboundReady();
  }

  get flushed(): boolean {
    return true;
  }

  detach(): void {
    const peer = this.peerLink;
    this.peerLink = undefined;
    if (peer) {
      peer.peerLink = undefined;
      // Both ends of a handshaken connection report its end, as they do over tcp and ipc.
      this.ended?.();
      peer.ended?.();
      peer.pipe.detach(peer);
    }
  }

  private transfer(): void {
    const peer = this.peerLink;
    if (!peer) return;
    while (!peer.pipe.inboundFull) {
      const message = this.pipe.takeOutbound();
      if (message === undefined) return;
      // The message is readable at once; waking the peer's waiting receivers is left to the
      // next turn of the event loop, so that a burst is consumed in one go, not one wake-up each.
      peer.pipe.deliver(message, true);
    }
  }
}

class InprocConnection implements Connection {
  closed = false;
  link?: { readonly pipe: Pipe };
  /** The key of this connect's request to other threads while it waits for a bind. */
  remote?: string;
  constructor(private readonly onClose: () => void) {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.link?.pipe.close();
  }
}

function peerOf(host: TransportHost): PeerInfo {
  return { socketType: host.type, routingId: host.options.routingId, metadata: new Map(), protocol: "inproc" };
}

function join(name: string, binder: BoundName, pending: PendingConnect): void {
  const { host: connecter, options } = pending;
  const address = `inproc://${name}`;
  if (!isCompatible(connecter.type, binder.host.type)) {
    const error = new ProtocolError(
      "incompatible-socket-type",
      `a ${connecter.type} socket cannot talk to a ${binder.host.type} socket`,
    );
    connecter.emit({ type: "handshake:error", address, error });
    binder.host.emit({ type: "handshake:error", address, error });
    return;
  }
  const connectPipe = pending.pipe && !pending.pipe.closed ? pending.pipe : connecter.createPipe(address, { persistent: false, early: false, routingId: options.routingId });
  const bindPipe = binder.host.createPipe(address, { persistent: false, early: false });
  const connectPeer = peerOf(binder.host);
  const bindPeer = peerOf(connecter);
  const refusal = connecter.admit(connectPipe, connectPeer) ?? binder.host.admit(bindPipe, bindPeer);
  if (refusal) {
    connecter.emit({ type: "handshake:error", address, error: refusal });
    binder.host.emit({ type: "handshake:error", address, error: refusal });
    connectPipe.close();
    bindPipe.close();
    return;
  }
  if (pending.connection.remote !== undefined) {
    threadRegistry().cancel(pending.connection.remote);
    pending.connection.remote = undefined;
  }
  const connectLink = new InprocLink(connectPipe);
  const bindLink = new InprocLink(bindPipe);
  connectLink.peerLink = bindLink;
  bindLink.peerLink = connectLink;
  connectLink.ended = () => connecter.emit({ type: "disconnect", address, routingId: connectPipe.routingId });
  bindLink.ended = () => binder.host.emit({ type: "disconnect", address, routingId: bindPipe.routingId });
  pending.connection.link = connectLink;
  binder.links.add(bindLink);
  connecter.emit({ type: "connect", address });
  binder.host.emit({ type: "accept", address });
  connecter.emit({ type: "handshake", address, peer: connectPeer, routingId: connectPipe.routingId });
  binder.host.emit({ type: "handshake", address, peer: bindPeer, routingId: bindPipe.routingId });
  connectPipe.attach(connectLink, connectPeer);
  bindPipe.attach(bindLink, bindPeer);
}

/**
 * Parks a connect until a bind appears, in this thread (the queue `bind`
 * reads) or in another (the registry's offer), whichever answers first.
 */
function awaitBind(name: string, address: string, pending: PendingConnect): void {
  let queue = waiting.get(name);
  if (!queue) waiting.set(name, (queue = new Set()));
  queue.add(pending);
  const { connection } = pending;
  let unused = pending.pipe;
  connection.remote = threadRegistry().want({
    name,
    address,
    host: pending.host,
    options: pending.options,
    takePipe: () => {
      const pipe = unused && !unused.closed ? unused : undefined;
      unused = undefined;
      return pipe;
    },
    joined: (link) => {
      waiting.get(name)?.delete(pending);
      connection.remote = undefined;
      connection.link = link;
    },
    lost: () => {
      // Unlike a same-thread peer, another thread can restart and bind again: reconnect, as tcp does.
      connection.link = undefined;
      if (connection.closed) return;
      const again: PendingConnect = { host: pending.host, options: pending.options, connection };
      const binder = bound.get(name);
      if (binder) join(name, binder, again);
      else awaitBind(name, address, again);
    },
  });
}

/** Whether some socket of this process is bound on `inproc://name` now (ZAP asks before it sends a request). */
export function isInprocBound(name: string): boolean {
  return bound.has(name);
}

/** In-process transport: pipes joined directly, messages passed by reference. */
export const inprocTransport: Transport = {
  async bind(endpoint: Endpoint, host: TransportHost): Promise<Binding> {
    if (endpoint.protocol !== "inproc") throw new TypeError("not an inproc endpoint");
    const { name } = endpoint;
    const names = threadRegistry();
    if (bound.has(name) || names.boundElsewhere(name)) throw new PrivateerError("EADDRINUSE", `inproc://${name} is already bound`);
    const entry: BoundName = { host, links: new Set() };
    bound.set(name, entry);
    const queue = waiting.get(name);
    waiting.delete(name);
    for (const pending of queue ?? []) if (!pending.connection.closed) join(name, entry, pending);
    names.bound(name);
    return {
      endpoint: endpoint.address,
      close: async () => {
        if (bound.get(name) === entry) {
          bound.delete(name);
          names.unbound(name);
        }
        for (const link of [...entry.links]) link.pipe.close();
      },
    };
  },

  connect(endpoint: Endpoint, host: TransportHost, options: ConnectOptions): Connection {
    if (endpoint.protocol !== "inproc") throw new TypeError("not an inproc endpoint");
    const { name } = endpoint;
    let pending: PendingConnect | undefined;
    const connection = new InprocConnection(() => {
      if (pending) waiting.get(name)?.delete(pending);
      if (connection.remote !== undefined) threadRegistry().cancel(connection.remote);
      connection.remote = undefined;
      pending?.pipe?.close();
    });
    // Without `immediate` the pipe exists at once, so messages can be queued before the bind.
    const pendingPipe = host.options.immediate ? undefined : host.createPipe(endpoint.address, { persistent: false, early: true, routingId: options.routingId });
    pending = { host, options, pipe: pendingPipe, connection };
    const binder = bound.get(name);
    if (binder) {
      // Joined on the next microtask, not inside connect(): the connect and handshake events must
      // reach subscriptions made right after connect() returns, as they do over tcp and ipc (the
      // Majordomo client, for one, subscribes to its DEALER's events after connecting it).
      const joining = pending;
      queueMicrotask(() => {
        if (connection.closed) return;
        const current = bound.get(name);
        if (current) join(name, current, joining);
        else awaitBind(name, endpoint.address, joining);
      });
    } else awaitBind(name, endpoint.address, pending);
    return connection;
  },
};
