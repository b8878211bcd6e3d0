import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Endpoint } from "./endpoint";
import { StreamTransport, type StreamAddressing } from "./stream-transport";

let wildcardCounter = 0;
const wildcardDirs = new Set<string>();

function pathOf(endpoint: Endpoint): string {
  if (endpoint.protocol !== "ipc") throw new TypeError(`not an ipc endpoint: ${endpoint.address}`);
  return endpoint.path;
}

const ipcAddressing: StreamAddressing = {
  listen(server, endpoint) {
    let file = pathOf(endpoint);
    // libzmq binds `ipc://*` to a fresh file in a temporary directory.
    if (file === "*") {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "privateer-"));
      file = path.join(dir, `ipc-${process.pid}-${++wildcardCounter}`);
      wildcardDirs.add(dir);
    }
    // Like libzmq, a stale socket file left by a dead process is replaced.
    try {
      if (fs.statSync(file).isSocket()) fs.unlinkSync(file);
    } catch {
      // No such file: nothing to replace.
    }
    return new Promise<string>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ path: file }, () => {
        server.off("error", reject);
        resolve(`ipc://${file}`);
      });
    });
  },
  afterClose(endpoint) {
    // net.Server unlinks its socket file on close; this covers a file replaced under us.
    const file = endpoint.slice("ipc://".length);
    try {
      if (fs.statSync(file).isSocket()) fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
    // `ipc://*` made a private directory for its file; remove it too.
    const dir = path.dirname(file);
    if (wildcardDirs.delete(dir)) fs.rmSync(dir, { recursive: true, force: true });
  },
  connect(endpoint) {
    return net.connect({ path: pathOf(endpoint) });
  },
};

export const ipcTransport = new StreamTransport(ipcAddressing);
