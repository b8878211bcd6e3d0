import { createServer } from "node:net";
import { bindAddress, type TransportName } from "./endpoints";

/**
 * Free TCP ports on 127.0.0.1, held together until all are known so one call
 * never returns the same port twice, then released. For what must know its
 * port before anything binds it: a socket that connects before its peer
 * binds, a pair whose servers each connect to the other's publisher, a
 * server restarted on the same port, a program started on a given port.
 * `tcp://127.0.0.1:*` cannot do these. Another binder could take a port in
 * the moment between release and use; on loopback in a test run none does.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => {
              const address = server.address();
              if (typeof address === "object" && address) resolve(address.port);
              else reject(new Error("no port"));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** One free TCP port on 127.0.0.1 (see {@link freePorts}). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/**
 * An address nothing listens on yet, for connect-before-bind tests: a free
 * 127.0.0.1 port for tcp, a unique ipc path or inproc name otherwise.
 */
export async function freeAddress(transport: TransportName): Promise<string> {
  if (transport !== "tcp") return bindAddress(transport);
  return `tcp://127.0.0.1:${await freePort()}`;
}
