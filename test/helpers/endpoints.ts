import * as os from "node:os";
import * as path from "node:path";
import { filter, firstValueFrom, take, timeout, toArray } from "rxjs";
import type { SocketBase, SocketEvent, SocketEventType } from "../../src";

export type TransportName = "tcp" | "ipc" | "inproc";

/** Every transport; behaviour tests run `describe.each(TRANSPORTS)`. */
export const TRANSPORTS: readonly TransportName[] = ["tcp", "ipc", "inproc"];

let counter = 0;

/** A fresh address to bind: an ephemeral tcp port on 127.0.0.1, a unique ipc path or inproc name. */
export function bindAddress(transport: TransportName): string {
  const unique = `${process.pid}-${Date.now().toString(36)}-${++counter}`;
  switch (transport) {
    case "tcp":
      return "tcp://127.0.0.1:*";
    case "ipc":
      return `ipc://${path.join(os.tmpdir(), `pv-test-${unique}.sock`)}`;
    case "inproc":
      return `inproc://test-${unique}`;
  }
}

/** Resolves with the next event of `type`; subscribe before the action that causes it. */
export function nextEvent<T extends SocketEventType>(
  socket: SocketBase,
  type: T,
  ms = 5000,
): Promise<Extract<SocketEvent, { type: T }>> {
  return settledQuietly(
    firstValueFrom(
      socket.events$.pipe(
        filter((event): event is Extract<SocketEvent, { type: T }> => event.type === type),
        timeout(ms),
      ),
    ),
  );
}

/**
 * A test may start waiting for an event and then fail (or close the socket)
 * before awaiting it; the rejection must not become an unhandled one that
 * takes down the whole jest run. Awaiting the returned promise still rejects.
 */
function settledQuietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Resolves once `count` events of `type` have happened. */
export function events<T extends SocketEventType>(
  socket: SocketBase,
  type: T,
  count: number,
  ms = 5000,
): Promise<Extract<SocketEvent, { type: T }>[]> {
  return settledQuietly(
    firstValueFrom(
      socket.events$.pipe(
        filter((event): event is Extract<SocketEvent, { type: T }> => event.type === type),
        take(count),
        toArray(),
        timeout(ms),
      ),
    ),
  );
}

/** Binds `server`, connects each client, and waits for every handshake on the server side. */
export async function link(server: SocketBase, clients: SocketBase[], transport: TransportName): Promise<string> {
  await server.bind(bindAddress(transport));
  const address = server.lastEndpoint!;
  const handshakes = events(server, "handshake", clients.length);
  for (const client of clients) client.connect(address);
  await handshakes;
  return address;
}

/** Closes sockets without lingering. */
export function closeAll(...sockets: Array<SocketBase | undefined>): void {
  for (const socket of sockets) {
    if (!socket || socket.closed) continue;
    socket.linger = 0;
    socket.close();
  }
}

export const text = (frames: Buffer[]): string[] => frames.map((frame) => frame.toString());
