import type { Mechanism, OwnProperties } from "./mechanism";
import { NullMechanism } from "./null";
import { PlainClient, PlainServer } from "./plain";

export * from "./mechanism";
export { NullMechanism } from "./null";
export { PlainClient, PlainServer, PLAIN_CREDENTIAL_MAX } from "./plain";

/** Which mechanism a connection uses and in which role, from the socket's options. */
export type SecurityConfig =
  | { readonly mechanism: "NULL" }
  | { readonly mechanism: "PLAIN"; readonly server: true; readonly zapDomain: string }
  | { readonly mechanism: "PLAIN"; readonly server: false; readonly username: Buffer; readonly password: Buffer };

/** A fresh mechanism for one connection. */
export function createMechanism(
  config: SecurityConfig,
  properties: OwnProperties,
  routingId: Buffer,
  peerAddress: string,
): Mechanism {
  switch (config.mechanism) {
    case "NULL":
      return new NullMechanism(properties);
    case "PLAIN":
      return config.server
        ? new PlainServer(properties, config.zapDomain, routingId, peerAddress)
        : new PlainClient(properties, config.username, config.password);
  }
}
