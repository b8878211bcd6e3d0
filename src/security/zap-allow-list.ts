import { createHash, timingSafeEqual } from "node:crypto";
import { encodeZ85 } from "../codec/z85";
import { curveKeyBytes, type CurveKey } from "./curve/key-pair";
import type { ZapAuthRequest, ZapDecision } from "./zap-authenticator";

/** Who may connect, for {@link zapAllowList}. Every list that is given must admit the client. */
export interface ZapAllowListOptions {
  /**
   * CURVE clients admitted by their long-term public key (Z85 text or 32
   * bytes). `"any"` admits every client that proves it holds the secret key
   * of the public key it presents (libzmq's CURVE_ALLOW_ANY). Absent: no
   * CURVE client gets in.
   */
  readonly curvePublicKeys?: Iterable<CurveKey> | "any";
  /** PLAIN clients admitted, user name to password. Absent: no PLAIN client gets in. */
  readonly plainUsers?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /**
   * Client addresses admitted, as the server sees them (the IP for tcp; ipc
   * clients have the empty address). Absent: any address.
   */
  readonly addresses?: Iterable<string>;
  /** Client addresses refused whatever else they present; checked first. */
  readonly denyAddresses?: Iterable<string>;
  /** ZAP domains this list answers for (the servers' `zapDomain`); others are refused. Absent: any domain. */
  readonly domains?: Iterable<string>;
}

/**
 * A ZAP handler for {@link zapAuthenticator} built from allow-lists, in the
 * spirit of CZMQ's zauth: addresses first (deny, then allow), then the
 * mechanism's own credentials. The user id it assigns is the PLAIN user name,
 * or the CURVE client's public key in Z85 (as pyzmq's authenticator does), so
 * the application can tell clients apart through `User-Id`.
 *
 * A NULL client reaches ZAP only when its server sets `zapDomain`; it is
 * admitted when the address lists admit it.
 */
export function zapAllowList(options: ZapAllowListOptions): (request: ZapAuthRequest) => ZapDecision {
  const denied = new Set(options.denyAddresses ?? []);
  const admitted = options.addresses === undefined ? undefined : new Set(options.addresses);
  const domains = options.domains === undefined ? undefined : new Set(options.domains);
  const anyKey = options.curvePublicKeys === "any";
  const keys = new Set(
    options.curvePublicKeys === undefined || options.curvePublicKeys === "any"
      ? []
      : [...options.curvePublicKeys].map((key) => encodeZ85(curveKeyBytes(key, "allowed CURVE public key"))),
  );
  const users = new Map(
    options.plainUsers === undefined
      ? []
      : options.plainUsers instanceof Map
        ? options.plainUsers
        : Object.entries(options.plainUsers),
  );
  const deny: ZapDecision = { allow: false, status: 400 };

  return (request) => {
    if (domains !== undefined && !domains.has(request.domain)) return deny;
    if (denied.has(request.address)) return deny;
    if (admitted !== undefined && !admitted.has(request.address)) return deny;
    switch (request.mechanism) {
      case "NULL":
        return { allow: true };
      case "PLAIN": {
        const password = users.get(request.username ?? "");
        return password !== undefined && sameSecret(password, request.password ?? "")
          ? { allow: true, userId: request.username! }
          : deny;
      }
      case "CURVE": {
        const key = request.curvePublicKey;
        if (key === undefined) return deny;
        return anyKey || keys.has(key) ? { allow: true, userId: key } : deny;
      }
      default:
        return deny;
    }
  };
}

/** Compares passwords in time independent of where they differ: hashing first evens out their lengths. */
function sameSecret(expected: string, given: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(expected), digest(given));
}
