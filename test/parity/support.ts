/**
 * Helpers shared by the libzmq-parity tests: counting sends until a socket
 * refuses, draining a known number of messages, driving virtual time, and a
 * small hand-driven ZMTP peer for the heartbeat tests.
 */
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Message, PrivateerError } from "../../src";
import { nextTurn } from "../helpers/clock";

// Shared with test/socket; the parity tests import them from here.
export { advanceTo, nextTurn } from "../helpers/clock";

interface Sender {
  send(message: string | Buffer | Array<string | Buffer>): Promise<void>;
  sendTimeout: number;
}

interface Receiver {
  receive(): Promise<Message>;
}

/**
 * libzmq's "send with ZMQ_DONTWAIT until EAGAIN": sends `make(i)` with
 * sendTimeout 0, awaiting each, until one is refused. Only microtasks run
 * between sends (inproc delivery is a microtask; tcp/ipc writes wait for a
 * macrotask), so for inproc the count is exactly what both queues hold.
 */
export async function sendUntilRefused(
  socket: Sender,
  make: (i: number) => string | Buffer | Array<string | Buffer>,
  max = 10000,
): Promise<number> {
  socket.sendTimeout = 0;
  let count = 0;
  while (count < max) {
    const refused = await socket.send(make(count)).then(
      () => undefined,
      (error: PrivateerError) => error,
    );
    if (refused) {
      expect(refused.code).toBe("EAGAIN");
      break;
    }
    count++;
  }
  return count;
}

/**
 * Sends `make(i)` with sendTimeout 0 until the socket has refused
 * `stallTurns` times in a row, one event-loop turn apart: by then the pipe,
 * the Node stream buffer and the kernel buffers are all full and nothing
 * moves until the peer reads. Returns how many sends were accepted.
 */
export async function sendUntilStalled(
  socket: Sender,
  make: (i: number) => string | Buffer | Array<string | Buffer>,
  { stallTurns = 50, max = 100000 } = {},
): Promise<number> {
  socket.sendTimeout = 0;
  let accepted = 0;
  let refusedInARow = 0;
  while (refusedInARow < stallTurns && accepted < max) {
    const ok = await socket.send(make(accepted)).then(
      () => true,
      (error: PrivateerError) => {
        expect(error.code).toBe("EAGAIN");
        return false;
      },
    );
    if (ok) {
      accepted++;
      refusedInARow = 0;
    } else {
      refusedInARow++;
      await nextTurn();
    }
  }
  return accepted;
}

/** Receives exactly `count` messages, as text frames. */
export async function receiveN(socket: Receiver, count: number): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 0; i < count; i++) out.push((await socket.receive()).map((frame) => frame.toString()));
  return out;
}

let unique = 0;

/** A tcp or ipc address nothing listens on: a loopback port bound and released just now, or a fresh ipc path. */
export async function deadAddress(transport: "tcp" | "ipc"): Promise<string> {
  if (transport === "ipc") {
    return `ipc://${path.join(os.tmpdir(), `pv-parity-dead-${process.pid}-${Date.now().toString(36)}-${++unique}.sock`)}`;
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `tcp://127.0.0.1:${port}`;
}
