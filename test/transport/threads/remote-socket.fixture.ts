/**
 * Runs in a worker thread: owns Privateer sockets there and does what the
 * test thread asks over the worker's parentPort (a test control channel the
 * library never sees). Frames travel as strings, errors as their code.
 */
import { createHash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import * as zmq from "../../../src";
import { carrierSettings } from "../../../src/transport/threads/registry";

type AnySocket = zmq.SocketBase & {
  send?(message: zmq.MessageLike | zmq.MessageLike[]): Promise<void>;
  receive?(): Promise<Buffer[]>;
  subscribe?(...topics: string[]): void;
};

export type Command =
  | { readonly op: "open"; readonly type: string; readonly options?: Record<string, unknown> }
  | { readonly op: "bind" | "connect"; readonly socket: number; readonly address: string }
  | { readonly op: "send"; readonly socket: number; readonly frames: string[] }
  | { readonly op: "sendMany"; readonly socket: number; readonly count: number; readonly prefix: string }
  | { readonly op: "receive"; readonly socket: number }
  /** Receives one message and answers each frame's length and SHA-256 (binary frames do not survive as strings). */
  | { readonly op: "receiveDigests"; readonly socket: number }
  | { readonly op: "echo"; readonly socket: number }
  | { readonly op: "subscribe"; readonly socket: number; readonly topic: string }
  | { readonly op: "events"; readonly socket: number }
  | { readonly op: "close"; readonly socket: number }
  /** Connections this thread's connects make stay on their BroadcastChannel (false) or move to a MessagePort. */
  | { readonly op: "portHandover"; readonly enabled: boolean }
  /** Computes without yielding for `ms` (a CPU-bound job), then answers. */
  | { readonly op: "spin"; readonly ms: number }
  /** Lets go of the control channel: from now on only the sockets keep the thread alive. */
  | { readonly op: "release" };

const constructors: Record<string, new (options?: Record<string, unknown>) => AnySocket> = {
  PAIR: zmq.Pair,
  PUSH: zmq.Push,
  PULL: zmq.Pull,
  REQ: zmq.Request,
  REP: zmq.Reply,
  DEALER: zmq.Dealer,
  ROUTER: zmq.Router,
  PUB: zmq.Publisher,
  SUB: zmq.Subscriber,
  XPUB: zmq.XPublisher,
  XSUB: zmq.XSubscriber,
} as unknown as Record<string, new (options?: Record<string, unknown>) => AnySocket>;

const sockets: AnySocket[] = [];
const events: string[][] = [];
const port = parentPort!;

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case "open": {
      const socket = new constructors[command.type]!(command.options);
      const log: string[] = [];
      socket.events$.subscribe((event) => log.push(event.type));
      sockets.push(socket);
      events.push(log);
      return sockets.length - 1;
    }
    case "bind":
      await sockets[command.socket]!.bind(command.address);
      return null;
    case "connect":
      sockets[command.socket]!.connect(command.address);
      return null;
    case "send":
      await sockets[command.socket]!.send!(command.frames);
      return null;
    case "sendMany": {
      const socket = sockets[command.socket]!;
      for (let i = 0; i < command.count; i++) await socket.send!(`${command.prefix}${i}`);
      return null;
    }
    case "receive":
      return (await sockets[command.socket]!.receive!()).map(String);
    case "receiveDigests":
      return (await sockets[command.socket]!.receive!()).map((frame) => ({ length: frame.length, sha256: createHash("sha256").update(frame).digest("hex") }));
    case "echo": {
      // Answers every message with itself, until the socket closes.
      const socket = sockets[command.socket]!;
      void (async () => {
        for (;;) {
          const message = await socket.receive!().catch(() => undefined);
          if (!message) return;
          await socket.send!(message).catch(() => undefined);
        }
      })();
      return null;
    }
    case "subscribe":
      sockets[command.socket]!.subscribe!(command.topic);
      return null;
    case "events":
      return events[command.socket];
    case "close":
      sockets[command.socket]!.close();
      return null;
    case "portHandover":
      carrierSettings.portHandover = command.enabled;
      return null;
    case "spin": {
      const until = Date.now() + command.ms;
      while (Date.now() < until) {
        // Busy on purpose: the thread runs none of its callbacks meanwhile.
      }
      return null;
    }
    case "release":
      port.unref();
      return null;
  }
}

port.on("message", (message: { id: number; command: Command }) => {
  run(message.command).then(
    (result) => port.postMessage({ id: message.id, result }),
    (error: Error & { code?: string }) => port.postMessage({ id: message.id, error: { message: error.message, code: error.code } }),
  );
});
port.postMessage({ ready: true });
