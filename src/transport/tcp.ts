import * as net from "node:net";
import type { Endpoint } from "./endpoint";
import { formatTcp } from "./endpoint";
import { StreamTransport, type StreamAddressing } from "./stream-transport";
import type { TransportHost } from "./transport";

function tcpOf(endpoint: Endpoint): Extract<Endpoint, { protocol: "tcp" }> {
  if (endpoint.protocol !== "tcp") throw new TypeError(`not a tcp endpoint: ${endpoint.address}`);
  return endpoint;
}

const tcpAddressing: StreamAddressing = {
  listen(server, endpoint, host: TransportHost) {
    const { host: name, port } = tcpOf(endpoint);
    const wildcard = name === "*";
    // Like libzmq, `*` means every IPv4 interface unless the socket has ipv6 set.
    const listenHost = wildcard ? (host.options.ipv6 ? "::" : "0.0.0.0") : name;
    return new Promise<string>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: listenHost, port, backlog: host.options.backlog, ipv6Only: false }, () => {
        server.off("error", reject);
        const address = server.address() as net.AddressInfo;
        resolve(formatTcp(address.address, address.port));
      });
    });
  },
  connect(endpoint) {
    const { host, port } = tcpOf(endpoint);
    return net.connect({ host, port, noDelay: true });
  },
  prepare(socket) {
    socket.setNoDelay(true);
  },
};

export const tcpTransport = new StreamTransport(tcpAddressing);
