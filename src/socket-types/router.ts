import { randomInt } from "node:crypto";
import type { Message } from "../codec/frame";
import type { Metadata } from "../codec/metadata";
import type { PeerInfo } from "../engine/peer";
import { PrivateerError, ProtocolError } from "../errors";
import type { Pipe } from "../pipe/pipe";
import { FairQueue } from "../routing/fair-queue";
import { Readable, Writable } from "../socket/mixins";
import type { SocketOptions, SocketSettings } from "../socket/options";
import { SocketBase, type SendOutcome } from "../socket/socket-base";

export interface RouterOptions extends SocketOptions {
  /** Fail sends to unknown peers with EHOSTUNREACH, and wait for room at full ones, instead of dropping. Default false. */
  mandatory?: boolean;
  /** A new peer with a routing id already in use takes it over; otherwise it is refused. Default false. */
  handover?: boolean;
}

/**
 * RFC 28 (REQREP) ROUTER: every received message is prefixed with the
 * routing id of the peer it came from; the first frame of every sent
 * message names the peer to send the rest to.
 */
export class Router extends Readable(Writable(SocketBase)) {
  private readonly queue = new FairQueue();
  private readonly peers = new Map<string, Pipe>();
  private nextGeneratedId = randomInt(0, 0x7fffffff);
  private isMandatory = false;
  private isHandover = false;

  constructor(options: RouterOptions & SocketSettings = {}) {
    super("ROUTER", options);
    this.configure(options);
  }

  /** See {@link RouterOptions.mandatory}. */
  get mandatory(): boolean {
    return this.isMandatory;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set mandatory(value: boolean) {
    this.isMandatory = Boolean(value);
  }
  /** See {@link RouterOptions.handover}. */
  get handover(): boolean {
    return this.isHandover;
  }
  /** Coerced to a boolean, so a truthy value read from configuration works. */
  set handover(value: boolean) {
    this.isHandover = Boolean(value);
  }

  /**
   * The READY properties of the peer currently connected under `routingId`
   * (the first frame of its messages), or undefined when no peer is
   * connected under it. Names keep the peer's spelling and lookups ignore
   * case: `router.peerMetadata(id)?.get("X-Feature")`. Over inproc, where
   * there is no READY, the map is empty.
   *
   * A constant-time lookup in the table the ROUTER routes by: an entry goes
   * when its peer disconnects (a reconnecting peer is looked up afresh once
   * its new handshake completes), so nothing accumulates under churn.
   */
  peerMetadata(routingId: Buffer | string): Metadata | undefined {
    return this.peers.get(key(typeof routingId === "string" ? Buffer.from(routingId) : routingId))?.peer?.metadata;
  }

  /** Connects to an endpoint; `routingId` names the peer locally (ROUTER-to-ROUTER). */
  override connect(address: string, options: { routingId?: string | Buffer } = {}): void {
    super.connect(address, options);
  }

  protected override xadmit(pipe: Pipe, peer: PeerInfo): ProtocolError | undefined {
    const id = pipe.connectRoutingId ?? (peer.routingId.length > 0 ? peer.routingId : this.generateId());
    const holder = this.peers.get(key(id));
    if (holder && holder !== pipe) {
      if (!this.isHandover) {
        return new ProtocolError("duplicate-routing-id", `routing id ${id.toString("hex")} is already in use`);
      }
      this.peers.delete(key(id));
      holder.close();
    }
    pipe.routingId = id;
    return undefined;
  }

  protected xattach(): void {}

  protected override xconnected(pipe: Pipe): void {
    if (pipe.routingId) this.peers.set(key(pipe.routingId), pipe);
  }

  protected override xdisconnected(pipe: Pipe): void {
    this.forget(pipe);
  }

  protected xdetach(pipe: Pipe): void {
    this.forget(pipe);
    this.queue.remove(pipe);
  }

  protected xreadable(pipe: Pipe): void {
    this.queue.activate(pipe);
  }

  protected xsend(message: Message): SendOutcome {
    const [id, ...body] = message;
    const pipe = this.peers.get(key(id!));
    if (!pipe || pipe.isEnding) {
      return this.isMandatory
        ? new PrivateerError("EHOSTUNREACH", `no peer with routing id ${id!.toString("hex")}`)
        : true;
    }
    // A message that is only a routing id has nothing to deliver.
    if (body.length === 0) return true;
    if (pipe.write(body)) return true;
    return this.isMandatory ? false : true;
  }

  protected xrecv(): Message | undefined {
    const message = this.queue.receive();
    if (message === undefined) return undefined;
    return [this.queue.lastPipe!.routingId!, ...message];
  }

  private forget(pipe: Pipe): void {
    if (pipe.routingId && this.peers.get(key(pipe.routingId)) === pipe) this.peers.delete(key(pipe.routingId));
  }

  /** libzmq's generated ids: a zero byte then a 32-bit counter, so they never clash with user ids. */
  private generateId(): Buffer {
    const id = Buffer.alloc(5);
    id.writeUInt32BE(this.nextGeneratedId >>> 0, 1);
    this.nextGeneratedId = (this.nextGeneratedId + 1) >>> 0;
    return id;
  }
}

function key(id: Buffer): string {
  return id.toString("latin1");
}
