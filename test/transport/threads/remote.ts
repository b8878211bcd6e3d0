import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { Command } from "./remote-socket.fixture";

const ENTRY = path.join(__dirname, "peer.js");

/** A worker thread whose Privateer sockets the test drives (see remote-socket.fixture.ts). */
export class RemoteThread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly exited: Promise<number>;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(fixture = "remote-socket.fixture.ts", data: Record<string, unknown> = {}) {
    this.worker = new Worker(ENTRY, { workerData: { fixture, ...data } });
    this.exited = new Promise((resolve) => this.worker.once("exit", resolve));
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      const onReady = (message: { ready?: boolean }): void => {
        if (message.ready) {
          this.worker.off("message", onReady);
          resolve();
        }
      };
      this.worker.on("message", onReady);
    });
    this.worker.on("message", (message: { id?: number; result?: unknown; error?: { message: string; code?: string } }) => {
      if (message.id === undefined) return;
      const call = this.calls.get(message.id);
      this.calls.delete(message.id);
      if (!call) return;
      if (message.error) call.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      else call.resolve(message.result);
    });
    // A crashed or terminated worker must fail the calls waiting on it, not hang the test.
    void this.exited.then((code) => {
      for (const call of this.calls.values()) call.reject(new Error(`worker exited with code ${code}`));
      this.calls.clear();
    });
  }

  call<T = unknown>(command: Command): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, command });
    });
  }

  /** Opens a socket in the worker; returns its handle. */
  async open(type: string, options?: Record<string, unknown>): Promise<RemoteSocket> {
    const id = await this.call<number>({ op: "open", type, options });
    return new RemoteSocket(this, id);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

export class RemoteSocket {
  constructor(
    readonly thread: RemoteThread,
    readonly id: number,
  ) {}
  bind(address: string): Promise<void> {
    return this.thread.call({ op: "bind", socket: this.id, address });
  }
  connect(address: string): Promise<void> {
    return this.thread.call({ op: "connect", socket: this.id, address });
  }
  send(frames: string | string[]): Promise<void> {
    return this.thread.call({ op: "send", socket: this.id, frames: typeof frames === "string" ? [frames] : frames });
  }
  sendMany(count: number, prefix: string): Promise<void> {
    return this.thread.call({ op: "sendMany", socket: this.id, count, prefix });
  }
  receive(): Promise<string[]> {
    return this.thread.call({ op: "receive", socket: this.id });
  }
  receiveDigests(): Promise<{ length: number; sha256: string }[]> {
    return this.thread.call({ op: "receiveDigests", socket: this.id });
  }
  echo(): Promise<void> {
    return this.thread.call({ op: "echo", socket: this.id });
  }
  subscribe(topic: string): Promise<void> {
    return this.thread.call({ op: "subscribe", socket: this.id, topic });
  }
  events(): Promise<string[]> {
    return this.thread.call({ op: "events", socket: this.id });
  }
  close(): Promise<void> {
    return this.thread.call({ op: "close", socket: this.id });
  }
}
