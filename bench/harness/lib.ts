/**
 * The slice of the zeromq.js v6 API the benchmarks use. Privateer and
 * zeromq.js both satisfy it structurally, so every scenario is written once
 * and handed the library to measure.
 */

/** Options the benchmarks set; both libraries spell them the same way. */
export interface BenchSocketOptions {
  linger?: number;
  sendHighWaterMark?: number;
  receiveHighWaterMark?: number;
  receiveTimeout?: number;
  backlog?: number;
}

export interface BenchSocket {
  bind(address: string): Promise<void>;
  connect(address: string): void;
  close(): void;
  readonly lastEndpoint: string | null;
}

export interface BenchSender extends BenchSocket {
  send(message: Buffer | Buffer[]): Promise<void>;
}

export interface BenchReceiver extends BenchSocket {
  receive(): Promise<Buffer[]>;
}

export interface BenchSubscriber extends BenchReceiver {
  subscribe(...prefixes: Buffer[]): void;
}

type Ctor<T> = new (options?: BenchSocketOptions) => T;

/** The names under which results are reported. */
export type NodeLibName = "privateer" | "zeromq.js";
export type ImplName = NodeLibName | "libzmq";

export interface BenchLib {
  readonly name: NodeLibName;
  readonly Push: Ctor<BenchSender>;
  readonly Pull: Ctor<BenchReceiver>;
  readonly Request: Ctor<BenchSender & BenchReceiver>;
  readonly Reply: Ctor<BenchSender & BenchReceiver>;
  readonly Dealer: Ctor<BenchSender & BenchReceiver>;
  readonly Router: Ctor<BenchSender & BenchReceiver>;
  readonly Publisher: Ctor<BenchSender>;
  readonly Subscriber: Ctor<BenchSubscriber>;
}

/**
 * Loads one library only: a Privateer child must not pay for (or be
 * disturbed by) libzmq's I/O thread, and the other way round.
 */
export async function loadLib(name: NodeLibName): Promise<BenchLib> {
  if (name === "privateer") {
    const p = await import("../../src");
    return { name, ...pick(p) };
  }
  const z = await import("zeromq");
  return { name, ...pick(z) };
}

function pick(m: Omit<BenchLib, "name">): Omit<BenchLib, "name"> {
  const { Push, Pull, Request, Reply, Dealer, Router, Publisher, Subscriber } = m;
  return { Push, Pull, Request, Reply, Dealer, Router, Publisher, Subscriber };
}
