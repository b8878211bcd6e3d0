import { Observable, Subject } from "rxjs";
import { encodeMetadata } from "../codec/metadata";
import { encodeZ85 } from "../codec/z85";
import { ZAP_ENDPOINT_NAME, ZAP_VERSION } from "../engine/mechanism/zap-client";
import { Router } from "../socket-types/router";

/** A ZAP request (RFC 27) as a handler sees it. */
export interface ZapAuthRequest {
  readonly domain: string;
  /** The client's address as the server saw it (IP for tcp). */
  readonly address: string;
  /** The server socket's routing id. */
  readonly identity: Buffer;
  readonly mechanism: string;
  /** PLAIN: the user name. */
  readonly username?: string;
  /** PLAIN: the password, in clear, as the client sent it. */
  readonly password?: string;
  /** CURVE: the client's long-term public key in Z85 (40 characters), as its vouch proved it. */
  readonly curvePublicKey?: string;
  /** Mechanism-specific frames as received (PLAIN: username, password; CURVE: the 32-byte public key). */
  readonly credentials: readonly Buffer[];
}

/** A handler's verdict: allow with an optional user id (the application sees it as `User-Id`), or deny. */
export interface ZapDecision {
  readonly allow: boolean;
  readonly userId?: string;
  /** Status code when denying: 300 temporary, 400 (default) denied, 500 handler error. */
  readonly status?: 300 | 400 | 500;
}

/** One answered request, as `decisions$` reports it (without the credentials). */
export interface ZapOutcome {
  readonly domain: string;
  readonly address: string;
  readonly mechanism: string;
  readonly username?: string;
  /** CURVE: the client's public key in Z85 (public, so safe to log). */
  readonly curvePublicKey?: string;
  readonly status: 200 | 300 | 400 | 500;
  readonly userId: string;
}

/** A running authenticator; `close()` unbinds it. */
export interface ZapAuthenticator {
  /** Every answered request; completes on close. */
  readonly decisions$: Observable<ZapOutcome>;
  /** Unbinds `inproc://zeromq.zap.01`; PLAIN servers then refuse new clients until a handler is bound again. */
  close(): void;
}

/**
 * Answers ZAP requests with `handler`, bound on `inproc://zeromq.zap.01` as
 * libzmq's handlers are: every PLAIN and CURVE server socket in this process
 * asks it. {@link zapAllowList} builds a handler from allow-lists.
 * Only one authenticator can be bound per process. A handler that throws or
 * rejects denies with status 500.
 */
export async function zapAuthenticator(
  handler: (request: ZapAuthRequest) => ZapDecision | Promise<ZapDecision>,
): Promise<ZapAuthenticator> {
  const router = new Router({ linger: 0 });
  await router.bind(`inproc://${ZAP_ENDPOINT_NAME}`);
  const decisions = new Subject<ZapOutcome>();
  const serve = async () => {
    for await (const frames of router) {
      // Routing id, delimiter, version, request id, domain, address, identity, mechanism, credentials...
      if (frames.length < 8 || frames[1]!.length !== 0) continue;
      const [peer, , version, requestId, domain, address, identity, mechanism, ...credentials] = frames as Buffer[];
      const reply = (status: string, text: string, userId: string) =>
        router.send([peer!, Buffer.alloc(0), ZAP_VERSION, requestId!, status, text, userId, encodeMetadata([])]);
      if (version!.toString() !== ZAP_VERSION) {
        await reply("500", "Version number not valid", "");
        continue;
      }
      const isPlain = mechanism!.toString() === "PLAIN";
      // RFC 27: CURVE's one credential frame is the client's 32-byte long-term public key.
      const curveKey =
        mechanism!.toString() === "CURVE" && credentials.length === 1 && credentials[0]!.length === 32
          ? encodeZ85(credentials[0]!)
          : undefined;
      const request: ZapAuthRequest = {
        domain: domain!.toString(),
        address: address!.toString(),
        identity: identity!,
        mechanism: mechanism!.toString(),
        credentials,
        ...(isPlain ? { username: credentials[0]?.toString() ?? "", password: credentials[1]?.toString() ?? "" } : {}),
        ...(curveKey !== undefined ? { curvePublicKey: curveKey } : {}),
      };
      let decision: ZapDecision;
      try {
        decision = await handler(request);
      } catch {
        decision = { allow: false, status: 500 };
      }
      const status = decision.allow ? 200 : (decision.status ?? 400);
      const userId = decision.allow ? (decision.userId ?? "") : "";
      await reply(String(status), decision.allow ? "OK" : "Denied", userId);
      decisions.next({
        domain: request.domain,
        address: request.address,
        mechanism: request.mechanism,
        ...(isPlain ? { username: request.username } : {}),
        ...(curveKey !== undefined ? { curvePublicKey: curveKey } : {}),
        status,
        userId,
      });
    }
  };
  void serve().finally(() => decisions.complete());
  return { decisions$: decisions.asObservable(), close: () => router.close() };
}
