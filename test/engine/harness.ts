/**
 * What the engine tests run an engine with: an in-memory byte stream (the
 * raw peer, test/helpers/raw-zmtp-peer.ts, sits on its other end), a
 * recorder of what the engine reports, and options with every timer off.
 */

import { Duplex } from "node:stream";
import pino from "pino";
import { VirtualTimeScheduler } from "rxjs";
import type { Message } from "../../src/codec/frame";
import type { PeerInfo } from "../../src/engine/peer";
import type { EngineHandler, EngineOptions } from "../../src/engine/zmtp-engine";
import type { ProtocolError } from "../../src/errors";

/**
 * One end of an in-memory byte stream. Writes appear as 'data' on the other
 * end; ending or destroying one end ends the other, as a TCP FIN would.
 */
export class StreamEnd extends Duplex {
  other!: StreamEnd;
  private eofSent = false;

  override _read(): void {
    // Data is pushed by the other end's writes.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sendEof();
    callback(error);
  }

  private sendEof(): void {
    if (this.eofSent) return;
    this.eofSent = true;
    if (!this.other.destroyed) this.other.push(null);
  }
}

export function streamPair(): [StreamEnd, StreamEnd] {
  const a = new StreamEnd();
  const b = new StreamEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

/** Waits for a condition on state that changes only when an event arrives. */
class Waiters {
  private readonly pending: Array<() => boolean> = [];

  /** Resolves once `check` returns true; `check` runs now and after every `notify`. */
  until(check: () => boolean, describe: () => string, ms = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(new Error(`timed out waiting: ${describe()}`));
      }, ms);
      const entry = (): boolean => {
        if (!check()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      const remove = (): void => {
        const index = this.pending.indexOf(entry);
        if (index !== -1) this.pending.splice(index, 1);
      };
      this.pending.push(entry);
    });
  }

  notify(): void {
    for (const entry of [...this.pending]) if (entry()) this.pending.splice(this.pending.indexOf(entry), 1);
  }
}

/** Records what an engine reports, with promises for the interesting moments. */
export class Recorder implements EngineHandler {
  readonly peers: PeerInfo[] = [];
  readonly messages: Message[] = [];
  closedWith?: { error: Error | undefined; handshaken: boolean; at: number };
  /** Returned from `handshake` to refuse the peer. */
  refusal?: ProtocolError;
  private readonly waiters = new Waiters();

  constructor(private readonly clock: { now(): number } = Date) {}

  handshake(peer: PeerInfo): ProtocolError | undefined {
    this.peers.push(peer);
    this.waiters.notify();
    return this.refusal;
  }

  message(message: Message): void {
    this.messages.push(message.map((frame) => Buffer.from(frame)));
    this.waiters.notify();
  }

  closed(error: Error | undefined, handshaken: boolean): void {
    if (this.closedWith) throw new Error("closed reported twice");
    this.closedWith = { error, handshaken, at: this.clock.now() };
    this.waiters.notify();
  }

  async handshaken(): Promise<PeerInfo> {
    await this.waiters.until(
      () => this.peers.length > 0 || this.closedWith !== undefined,
      () => "handshake",
    );
    if (this.peers.length === 0) throw new Error(`closed before the handshake: ${String(this.closedWith?.error)}`);
    return this.peers[0]!;
  }

  async nextMessages(count: number): Promise<Message[]> {
    await this.waiters.until(
      () => this.messages.length >= count || this.closedWith !== undefined,
      () => `${count} messages, have ${this.messages.length}`,
    );
    if (this.messages.length < count) throw new Error(`closed after ${this.messages.length} of ${count} messages`);
    return this.messages.slice(0, count);
  }

  async whenClosed(): Promise<{ error: Error | undefined; handshaken: boolean; at: number }> {
    await this.waiters.until(
      () => this.closedWith !== undefined,
      () => "close",
    );
    return this.closedWith!;
  }
}

export const silentLogger = pino({ level: "silent" });

/** Engine options with every timer off and a virtual clock, so nothing fires unless a test flushes it. */
export function engineOptions(overrides: Partial<EngineOptions> & Pick<EngineOptions, "socketType">): EngineOptions {
  return {
    asServer: false,
    maxMessageSize: -1,
    heartbeatInterval: 0,
    heartbeatTimeout: 0,
    heartbeatTimeToLive: 0,
    handshakeInterval: 0,
    scheduler: new VirtualTimeScheduler(),
    logger: silentLogger,
    ...overrides,
  };
}

/** A source for `engine.pull` that hands out `messages` once each. */
export function sourceOf(messages: Message[]): () => Message | undefined {
  return () => messages.shift();
}
