import { PrivateerError } from "../errors";
import type { Endpoint } from "./endpoint";
import { inprocTransport } from "./inproc";
import { ipcTransport } from "./ipc";
import { tcpTransport } from "./tcp";
import type { Transport } from "./transport";

export function transportFor(endpoint: Endpoint): Transport {
  switch (endpoint.protocol) {
    case "tcp":
      return tcpTransport;
    case "ipc":
      return ipcTransport;
    case "inproc":
      return inprocTransport;
    default:
      throw new PrivateerError("EPROTONOSUPPORT", "unsupported transport");
  }
}
