import { PrivateerError } from "../errors";

export type Endpoint =
  | { readonly protocol: "tcp"; readonly host: string; readonly port: number; readonly address: string }
  | { readonly protocol: "ipc"; readonly path: string; readonly address: string }
  | { readonly protocol: "inproc"; readonly name: string; readonly address: string };

/**
 * Parses `tcp://host:port`, `ipc://path` or `inproc://name`.
 *
 * For tcp, `host` may be an IPv4 address, an IPv6 address in brackets, a
 * hostname, or `*` (all interfaces, bind only); `port` may be `*` or `0`
 * for an ephemeral port (bind only). The port is then reported as 0.
 */
export function parseEndpoint(address: string, usage: "bind" | "connect"): Endpoint {
  const match = /^([a-z]+):\/\/(.+)$/.exec(address);
  if (!match) throw new PrivateerError("EINVAL", `invalid endpoint "${address}"`);
  const [, protocol, rest] = match as unknown as [string, string, string];
  switch (protocol) {
    case "tcp":
      return parseTcp(address, rest, usage);
    case "ipc":
      return { protocol, path: rest, address };
    case "inproc":
      return { protocol, name: rest, address };
    default:
      throw new PrivateerError("EPROTONOSUPPORT", `transport "${protocol}" is not supported (use tcp, ipc or inproc)`);
  }
}

function parseTcp(address: string, rest: string, usage: "bind" | "connect"): Endpoint {
  const colon = rest.lastIndexOf(":");
  if (colon <= 0) throw new PrivateerError("EINVAL", `tcp endpoint "${address}" needs host:port`);
  let host = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) throw new PrivateerError("EINVAL", `unbalanced brackets in "${address}"`);
    host = host.slice(1, -1);
  }
  // `tcp://src;dst` (source address on connect) is a libzmq feature we do not support.
  if (host.includes(";")) throw new PrivateerError("EINVAL", `source addresses in "${address}" are not supported`);
  let port: number;
  if (portText === "*" || portText === "0") {
    if (usage === "connect") throw new PrivateerError("EINVAL", `cannot connect to a wildcard port in "${address}"`);
    port = 0;
  } else {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
      throw new PrivateerError("EINVAL", `invalid port in "${address}"`);
    }
  }
  if (host === "*" && usage === "connect") throw new PrivateerError("EINVAL", `cannot connect to "*" in "${address}"`);
  if (host.length === 0) throw new PrivateerError("EINVAL", `missing host in "${address}"`);
  return { protocol: "tcp", host, port, address };
}

/** Formats a bound tcp address as libzmq reports it in `lastEndpoint`. */
export function formatTcp(host: string, port: number): string {
  return host.includes(":") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}
