import { randomUUID } from "node:crypto";
import { BroadcastChannel, MessageChannel, threadId, type MessagePort } from "node:worker_threads";
import { PrivateerError, ProtocolError } from "../../errors";
import type { PeerInfo } from "../../engine/peer";
import { isCompatible, type SocketType } from "../../engine/socket-type";
import type { Pipe } from "../../pipe/pipe";
import type { ConnectOptions, TransportHost } from "../transport";
import { ignore, ThreadLink, windowOf, type Carrier, type LinkMessage, type PeerThread } from "./link";

/**
 * The channel every thread's registry listens on. BroadcastChannel is the one
 * carrier Node gives every thread of a process without the application's
 * help (a MessagePort has to be handed over through the application's own
 * worker.postMessage); it clones messages and cannot transfer ports, so each
 * connection gets a channel of its own, with a random name only its two ends
 * know.
 */
const REGISTRY_CHANNEL = "privateer:inproc:v1";
const LINK_CHANNEL_PREFIX = "privateer:inproc:link:";

/** How often a thread checks that the threads it has connections to still run. */
const PROBE_INTERVAL_MS = 100;
/**
 * Waiters on a thread's life cell. Each probe wakes one, and a thread busy
 * in synchronous code re-arms none until it yields, so a thread may compute
 * for about LIFE_WAITERS x PROBE_INTERVAL_MS / (threads probing it) without
 * yielding before its peers take it for gone: 100 s with one peer.
 */
const LIFE_WAITERS = 1000;

/** What registries tell each other. `from` and `to` are registry ids. */
type Announcement =
  /** A registry started; the others answer with the names they have bound. */
  | { readonly t: "hello"; readonly from: string }
  /** `name` is bound in the registry `from`; `to` is set when this answers a hello. */
  | { readonly t: "bound"; readonly name: string; readonly from: string; readonly life: SharedArrayBuffer; readonly to?: string }
  | { readonly t: "unbound"; readonly name: string; readonly from: string }
  /** A connect looks for `name`; whoever has it bound answers with an offer. */
  | {
      readonly t: "want";
      readonly name: string;
      readonly from: string;
      readonly life: SharedArrayBuffer;
      readonly conn: string;
      readonly socketType: SocketType;
      readonly routingId: Uint8Array;
    }
  /** The binder opened `channel` for connect `conn` and waits there for the ack. */
  | {
      readonly t: "offer";
      readonly to: string;
      readonly conn: string;
      readonly channel: string;
      readonly from: string;
      readonly life: SharedArrayBuffer;
      readonly socketType: SocketType;
      readonly routingId: Uint8Array;
      readonly credit: number;
    }
  /** The binder's socket type cannot talk to the connecting one. */
  | { readonly t: "refuse"; readonly to: string; readonly conn: string; readonly socketType: SocketType };

/** A bound inproc name, as the same-thread transport keeps it. */
export interface LocalBinding {
  readonly host: TransportHost;
  readonly links: Set<{ readonly pipe: Pipe }>;
}

/** A connect() waiting for a bind in another thread. */
export interface RemoteConnect {
  readonly name: string;
  readonly address: string;
  readonly host: TransportHost;
  readonly options: ConnectOptions;
  /** The pipe made at connect() (without `immediate`), if still unused; later connections make their own. */
  takePipe(): Pipe | undefined;
  /** Another thread answered: stop waiting for a bind in this one. */
  joined(link: { readonly pipe: Pipe }): void;
  /** The connection to the other thread is gone: wait for a bind again, anywhere. */
  lost(): void;
}

interface PendingAccept {
  readonly name: string;
  readonly binding: LocalBinding;
  readonly pipe: Pipe;
  readonly channel: BroadcastChannel;
  readonly from: PeerThread;
  readonly peer: PeerInfo;
  readonly address: string;
}

function peerInfo(socketType: SocketType, routingId: Uint8Array): PeerInfo {
  return { socketType, routingId: Buffer.from(routingId), metadata: new Map(), protocol: "inproc" };
}

/**
 * This thread's part of the process-wide inproc name service. Names bound
 * here are announced to every thread; a connect that finds no bind in its
 * own thread asks every thread, again each time a bind is announced, so
 * connect-before-bind works across threads as it does within one.
 *
 * A thread killed with worker.terminate() runs none of its own code, so it
 * cannot say goodbye, and the Worker object that reports its exit belongs
 * to the thread that created it, not to its peers. So each registry keeps
 * many Atomics.waitAsync waiters on a "life" cell in a SharedArrayBuffer
 * (shared, not copied, through BroadcastChannel) and re-arms each one that
 * is woken. V8 drops an isolate's waiters when its thread ends, so a peer's
 * probe, Atomics.notify(life, 0, 1), wakes one (returns 1) while the thread
 * lives, even when it is busy, and finds none (0) once it is gone. Pending
 * waiters do not keep a thread alive.
 */
export class ThreadRegistry {
  readonly id = `${threadId}-${randomUUID()}`;
  private readonly channel = new BroadcastChannel(REGISTRY_CHANNEL);
  /** Names bound in this registry's thread and announced. */
  private readonly announced = new Set<string>();
  /** Names other threads announced, with the thread that bound them. */
  private readonly remoteBound = new Map<string, PeerThread>();
  private readonly waiting = new Map<string, RemoteConnect>();
  private readonly accepting = new Map<string, PendingAccept>();
  private readonly links = new Set<ThreadLink>();
  /** Registries whose thread was found gone; ids are never reused. */
  private readonly dead = new Set<string>();
  private readonly life = new Int32Array(new SharedArrayBuffer(4));
  private prober?: ReturnType<typeof setInterval>;
  /** Whether another thread's registry has spoken; until then a bind does not keep the thread alive. */
  private othersSeen = false;
  private referenced = false;

  constructor(private readonly lookup: (name: string) => LocalBinding | undefined) {
    this.channel.onmessage = (event: MessageEvent) => this.receive(event.data as Announcement);
    this.channel.unref();
    for (let i = 0; i < LIFE_WAITERS; i++) this.armLife();
    this.announce({ t: "hello", from: this.id });
  }

  /** Whether another thread announced `name` as bound (binding it here too is EADDRINUSE). */
  boundElsewhere(name: string): boolean {
    const owner = this.remoteBound.get(name);
    if (owner && !this.alive(owner)) this.threadGone(owner);
    return this.remoteBound.has(name);
  }

  /** A socket in this thread bound `name`: tell the others, and answer connects that wait for it. */
  bound(name: string): void {
    this.announced.add(name);
    this.announce({ t: "bound", name, from: this.id, life: this.life.buffer as SharedArrayBuffer });
    this.updateReference();
  }

  /** The binding of `name` here is closed: no thread may connect to it any more. */
  unbound(name: string): void {
    if (!this.announced.delete(name)) return;
    this.announce({ t: "unbound", name, from: this.id });
    for (const [key, pending] of this.accepting) {
      if (pending.name === name) this.refuseAccept(key, pending);
    }
    this.updateReference();
  }

  /** Looks for `name` in every other thread; returns a key for {@link cancel}. */
  want(request: RemoteConnect): string {
    const conn = randomUUID();
    this.waiting.set(conn, request);
    this.askFor(conn, request);
    this.updateReference();
    return conn;
  }

  /** The connect stopped waiting (closed, or joined a bind in its own thread). */
  cancel(conn: string): void {
    if (this.waiting.delete(conn)) this.updateReference();
  }

  // ---- announcements -----------------------------------------------------

  private receive(message: Announcement): void {
    switch (message.t) {
      case "hello":
        this.othersSeen = true;
        for (const name of this.announced) this.announce({ t: "bound", name, from: this.id, life: this.life.buffer as SharedArrayBuffer, to: message.from });
        this.updateReference();
        return;
      case "bound":
        this.othersSeen = true;
        if (message.to !== undefined && message.to !== this.id) return;
        if (this.dead.has(message.from)) return;
        this.remoteBound.set(message.name, peerThread(message.from, message.life));
        for (const [conn, request] of this.waiting) if (request.name === message.name) this.askFor(conn, request);
        this.updateReference();
        return;
      case "unbound":
        if (this.remoteBound.get(message.name)?.id === message.from) this.remoteBound.delete(message.name);
        return;
      case "want":
        this.othersSeen = true;
        this.updateReference();
        if (!this.dead.has(message.from)) this.offer(message);
        return;
      case "offer":
        if (message.to === this.id) this.join(message);
        return;
      case "refuse":
        if (message.to === this.id) this.refused(message);
        return;
    }
  }

  private announce(message: Announcement): void {
    this.channel.postMessage(message);
  }

  private askFor(conn: string, request: RemoteConnect): void {
    this.announce({ t: "want", name: request.name, from: this.id, life: this.life.buffer as SharedArrayBuffer, conn, socketType: request.host.type, routingId: request.host.options.routingId });
  }

  /** Binder side: a connect wants a name bound here. */
  private offer(want: Extract<Announcement, { t: "want" }>): void {
    const binding = this.announced.has(want.name) ? this.lookup(want.name) : undefined;
    if (!binding) return;
    const { host } = binding;
    const address = `inproc://${want.name}`;
    if (!isCompatible(host.type, want.socketType)) {
      const error = new ProtocolError("incompatible-socket-type", `a ${host.type} socket cannot talk to a ${want.socketType} socket`);
      host.emit({ type: "handshake:error", address, error });
      this.announce({ t: "refuse", to: want.from, conn: want.conn, socketType: host.type });
      return;
    }
    const key = LINK_CHANNEL_PREFIX + randomUUID();
    const channel = new BroadcastChannel(key);
    const pipe = host.createPipe(address, { persistent: false, early: false });
    const pending: PendingAccept = { name: want.name, binding, pipe, channel, from: peerThread(want.from, want.life), peer: peerInfo(want.socketType, want.routingId), address };
    this.accepting.set(key, pending);
    channel.onmessage = (event: MessageEvent) => {
      const message = event.data as LinkMessage;
      if (!(message instanceof ArrayBuffer) && message.t === "ack") this.accepted(key, pending, message.credit, message.port);
      else this.refuseAccept(key, pending, false);
    };
    this.announce({
      t: "offer",
      to: want.from,
      conn: want.conn,
      channel: key,
      from: this.id,
      life: this.life.buffer as SharedArrayBuffer,
      socketType: host.type,
      routingId: host.options.routingId,
      credit: windowOf(pipe),
    });
  }

  /** Binder side: the connect took our offer. */
  private accepted(key: string, pending: PendingAccept, credit: number, port: MessagePort | undefined): void {
    this.accepting.delete(key);
    const { binding, pipe, channel, address } = pending;
    const { host } = binding;
    if (this.lookup(pending.name) !== binding || pipe.closed) {
      this.refuseAccept(key, pending);
      return;
    }
    const { peer } = pending;
    const refusal = host.admit(pipe, peer);
    if (refusal) {
      host.emit({ type: "handshake:error", address, error: refusal });
      this.refuseAccept(key, pending);
      return;
    }
    const link = new ThreadLink(
      pipe,
      carrierOf(channel, port),
      credit,
      pending.from,
      (ended, _byPeer, error) => {
        this.links.delete(ended);
        binding.links.delete(ended);
        host.emit({ type: "disconnect", address, error, routingId: pipe.routingId });
      },
      () => transfersFrames(host),
    );
    this.links.add(link);
    binding.links.add(link);
    host.emit({ type: "accept", address });
    host.emit({ type: "handshake", address, peer, routingId: pipe.routingId });
    pipe.attach(link, peer);
    this.updateReference();
  }

  private refuseAccept(key: string, pending: PendingAccept, tell = true): void {
    this.accepting.delete(key);
    if (tell) pending.channel.postMessage({ t: "close" } satisfies LinkMessage);
    pending.channel.onmessage = ignore;
    pending.channel.close();
    pending.pipe.close();
  }

  /** Connect side: a thread that has the name bound offers a connection. */
  private join(offer: Extract<Announcement, { t: "offer" }>): void {
    const request = this.waiting.get(offer.conn);
    const channel = new BroadcastChannel(offer.channel);
    if (!request) {
      // Taken by an earlier offer (two binds raced), or closed meanwhile.
      channel.postMessage({ t: "close" } satisfies LinkMessage);
      channel.close();
      return;
    }
    this.waiting.delete(offer.conn);
    const { host, address } = request;
    const pipe = request.takePipe() ?? host.createPipe(address, { persistent: false, early: false, routingId: request.options.routingId });
    const peer = peerInfo(offer.socketType, offer.routingId);
    const refusal = host.admit(pipe, peer);
    if (refusal) {
      host.emit({ type: "handshake:error", address, error: refusal });
      channel.postMessage({ t: "close" } satisfies LinkMessage);
      channel.close();
      pipe.close();
      this.updateReference();
      return;
    }
    // The ack goes first, so that it precedes every message on the channel; it carries a MessagePort
    // for the connection when one can be handed over.
    const credit = windowOf(pipe);
    const { port1, port2 } = new MessageChannel();
    const handedOver = carrierSettings.portHandover && postWithTransfer(channel, { t: "ack", credit, port: port2 } satisfies LinkMessage, [port2]);
    if (!handedOver) {
      port1.close();
      channel.postMessage({ t: "ack", credit } satisfies LinkMessage);
    }
    const link = new ThreadLink(
      pipe,
      carrierOf(channel, handedOver ? port1 : undefined),
      offer.credit,
      peerThread(offer.from, offer.life),
      (ended, byPeer, error) => {
        this.links.delete(ended);
        host.emit({ type: "disconnect", address, error, routingId: pipe.routingId });
        if (byPeer) request.lost();
      },
      () => transfersFrames(host),
    );
    this.links.add(link);
    request.joined(link);
    host.emit({ type: "connect", address });
    host.emit({ type: "handshake", address, peer, routingId: pipe.routingId });
    pipe.attach(link, peer);
    this.updateReference();
  }

  private refused(message: Extract<Announcement, { t: "refuse" }>): void {
    const request = this.waiting.get(message.conn);
    if (!request) return;
    const error = new ProtocolError(
      "incompatible-socket-type",
      `a ${request.host.type} socket cannot talk to a ${message.socketType} socket`,
    );
    // As within one thread: reported, and the connect waits on (a compatible bind may come).
    request.host.emit({ type: "handshake:error", address: request.address, error });
  }

  // ---- threads coming and going -------------------------------------------

  private armLife(): void {
    const wait = waitAsync(this.life, 0, 0);
    if (wait.async) void wait.value.then(() => this.armLife());
  }

  private alive(peer: PeerThread): boolean {
    return Atomics.notify(peer.life, 0, 1) > 0;
  }

  /** Probes the threads this one has links to, while it has any. */
  private probe(): void {
    const checked = new Set<string>();
    const peers = [...[...this.links].map((link) => link.peer), ...[...this.accepting.values()].map((pending) => pending.from)];
    for (const peer of peers) {
      if (checked.has(peer.id)) continue;
      checked.add(peer.id);
      if (!this.alive(peer)) this.threadGone(peer);
    }
  }

  /** A peer's thread is gone: every link to it ends as a disconnect, and its names are free. */
  private threadGone(peer: PeerThread): void {
    this.dead.add(peer.id);
    for (const [name, owner] of this.remoteBound) if (owner.id === peer.id) this.remoteBound.delete(name);
    for (const [key, pending] of this.accepting) if (pending.from.id === peer.id) this.refuseAccept(key, pending, false);
    const error = new PrivateerError("EBADF", "the inproc peer's thread exited");
    for (const link of [...this.links]) if (link.peer.id === peer.id) link.peerLost(error);
    this.updateReference();
  }

  /**
   * Keeps the thread alive, as a tcp listener or a reconnecting tcp connect
   * would, while a connect waits for another thread's bind, or while a bind
   * here may be wanted by another thread. A program that never uses a second
   * thread keeps today's behaviour: inproc alone never holds it open.
   */
  private updateReference(): void {
    const probing = this.links.size > 0 || this.accepting.size > 0;
    if (probing && !this.prober) {
      this.prober = setInterval(() => this.probe(), PROBE_INTERVAL_MS);
      this.prober.unref();
    } else if (!probing && this.prober) {
      clearInterval(this.prober);
      this.prober = undefined;
    }
    const wanted = this.waiting.size > 0 || this.accepting.size > 0 || (this.othersSeen && this.announced.size > 0);
    if (wanted === this.referenced) return;
    this.referenced = wanted;
    if (wanted) this.channel.ref();
    else this.channel.unref();
  }
}

/** Atomics.waitAsync (Node 16+), which this project's ES2022 typings do not declare. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/**
 * Whether connections made by this thread's connects move to a MessagePort.
 * Tests turn it off to run the BroadcastChannel fallback, which is what
 * every connection uses where Node's internal port is not found.
 */
export const carrierSettings = { portHandover: true };

/** The carrier of a new link: the handed-over port if any (the channel is then closed), else the channel. */
function carrierOf(channel: BroadcastChannel, port: MessagePort | undefined): Carrier {
  if (!port) return { kind: "channel", channel };
  channel.onmessage = ignore;
  channel.close();
  return { kind: "port", port };
}

/**
 * Posts on a BroadcastChannel with a transfer list, which its public
 * postMessage lacks. The channel's internal MessagePort accepts one, and
 * Node transfers to a group of exactly two channels, as a connection's
 * channel is (its name is random and known to its two ends only). A
 * MessagePort wakes the other thread about twice as fast as a
 * BroadcastChannel and can transfer ArrayBuffers; where the internal port
 * is not found (another Node version) or refuses, nothing was sent and the
 * caller stays on the channel.
 */
function postWithTransfer(channel: BroadcastChannel, message: LinkMessage, transfer: MessagePort[]): boolean {
  const key = Object.getOwnPropertySymbols(channel).find((symbol) => symbol.description === "kHandle");
  const handle = key === undefined ? undefined : (channel as unknown as Record<symbol, unknown>)[key];
  if (typeof (handle as { postMessage?: unknown } | undefined)?.postMessage !== "function") return false;
  try {
    (handle as { postMessage(message: unknown, transfer: readonly MessagePort[]): void }).postMessage(message, transfer);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a socket's large frames leave by transfer: it asked for it
 * (`transferLargeFrames`), and it never hands one message to several pipes.
 * PUB and XPUB do, so a frame transferred to one subscriber would reach the
 * next one detached, empty: they always copy.
 */
function transfersFrames(host: TransportHost): boolean {
  return host.options.transferLargeFrames && host.type !== "PUB" && host.type !== "XPUB";
}

function peerThread(id: string, life: SharedArrayBuffer): PeerThread {
  return { id, life: new Int32Array(life) };
}
