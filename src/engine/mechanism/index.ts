import { CurveClient } from "./curve-client";
import type { SecretKey } from "./curve-keys";
import { CurveServer } from "./curve-server";
import type { Mechanism, OwnProperties } from "./mechanism";
import { NullMechanism } from "./null";
import { PlainClient, PlainServer } from "./plain";

export * from "./mechanism";
export { NullMechanism } from "./null";
export { PlainClient, PlainServer, PLAIN_CREDENTIAL_MAX } from "./plain";
export { CurveClient, type CurveClientKeys } from "./curve-client";
export { CurveServer } from "./curve-server";
export { SecretKey, curveKeyOption, keyText } from "./curve-keys";

/** Which mechanism a connection uses and in which role, from the socket's options. */
export type SecurityConfig =
  | { readonly mechanism: "NULL" }
  | { readonly mechanism: "PLAIN"; readonly server: true; readonly zapDomain: string }
  | { readonly mechanism: "PLAIN"; readonly server: false; readonly username: Buffer; readonly password: Buffer }
  | {
      readonly mechanism: "CURVE";
      readonly server: true;
      readonly zapDomain: string;
      /** `null` when unset: the handshake then fails with `invalid-key`. */
      readonly secretKey: SecretKey | null;
      readonly publicKey: Buffer | null;
    }
  | {
      readonly mechanism: "CURVE";
      readonly server: false;
      readonly serverKey: Buffer | null;
      readonly publicKey: Buffer | null;
      readonly secretKey: SecretKey | null;
    };

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
    case "CURVE":
      return config.server
        ? new CurveServer(properties, config.secretKey, config.publicKey, config.zapDomain, routingId, peerAddress)
        : new CurveClient(properties, { serverKey: config.serverKey, publicKey: config.publicKey, secretKey: config.secretKey });
  }
}
