/**
 * zapAllowList: the decisions it makes on its own (addresses, domains, PLAIN
 * users, CURVE keys), and one CURVE server guarded by it end to end, where
 * an unlisted key and an unlisted address are refused with nothing delivered.
 */
import { AuthenticationError, curveKeyPair, decodeZ85, Dealer, Router, zapAllowList, zapAuthenticator, type ZapAuthenticator, type ZapAuthRequest, type ZapOutcome } from "../../src";
import { bindAddress, nextEvent } from "../helpers/endpoints";

const listed = curveKeyPair();
const stranger = curveKeyPair();
const server = curveKeyPair();

function request(overrides: Partial<ZapAuthRequest>): ZapAuthRequest {
  return { domain: "global", address: "127.0.0.1", identity: Buffer.alloc(0), mechanism: "CURVE", credentials: [], ...overrides };
}
const curve = (key: string) => request({ mechanism: "CURVE", curvePublicKey: key, credentials: [decodeZ85(key)] });
const plain = (username: string, password: string) => request({ mechanism: "PLAIN", username, password });

describe("zapAllowList decisions", () => {
  it("admits listed CURVE keys, given as Z85 or bytes, with the key as user id, and refuses others", () => {
    const handler = zapAllowList({ curvePublicKeys: [listed.publicKey, decodeZ85(server.publicKey)] });
    expect(handler(curve(listed.publicKey))).toEqual({ allow: true, userId: listed.publicKey });
    expect(handler(curve(server.publicKey))).toEqual({ allow: true, userId: server.publicKey });
    expect(handler(curve(stranger.publicKey))).toEqual({ allow: false, status: 400 });
  });

  it("refuses every CURVE client when no keys are given, and admits any with \"any\"", () => {
    expect(zapAllowList({})(curve(listed.publicKey)).allow).toBe(false);
    expect(zapAllowList({ curvePublicKeys: "any" })(curve(stranger.publicKey))).toEqual({ allow: true, userId: stranger.publicKey });
  });

  it("checks PLAIN users and passwords, from a Map or a record", () => {
    for (const plainUsers of [new Map([["ann", "secret"]]), { ann: "secret" }]) {
      const handler = zapAllowList({ plainUsers });
      expect(handler(plain("ann", "secret"))).toEqual({ allow: true, userId: "ann" });
      expect(handler(plain("ann", "secreT")).allow).toBe(false);
      expect(handler(plain("bob", "secret")).allow).toBe(false);
      expect(handler(plain("ann", "")).allow).toBe(false);
    }
  });

  it("applies the deny list before the allow list, and the address lists before credentials", () => {
    const handler = zapAllowList({
      curvePublicKeys: "any",
      addresses: ["127.0.0.1", "127.0.0.2"],
      denyAddresses: ["127.0.0.2"],
    });
    expect(handler(curve(listed.publicKey)).allow).toBe(true);
    expect(handler({ ...curve(listed.publicKey), address: "127.0.0.2" }).allow).toBe(false);
    expect(handler({ ...curve(listed.publicKey), address: "127.0.0.3" }).allow).toBe(false);
  });

  it("answers only its domains, and admits NULL clients by address alone", () => {
    const handler = zapAllowList({ domains: ["broker"], addresses: ["127.0.0.1"] });
    expect(handler(request({ mechanism: "NULL", domain: "broker" }))).toEqual({ allow: true });
    expect(handler(request({ mechanism: "NULL", domain: "other" })).allow).toBe(false);
    expect(handler(request({ mechanism: "NULL", domain: "broker", address: "127.0.0.9" })).allow).toBe(false);
  });

  it("refuses a CURVE request whose key is missing and mechanisms it does not know", () => {
    const handler = zapAllowList({ curvePublicKeys: "any" });
    expect(handler(request({ mechanism: "CURVE" })).allow).toBe(false);
    expect(handler(request({ mechanism: "GSSAPI" })).allow).toBe(false);
  });

  it("rejects a malformed key in the list with EINVAL when built, without quoting it", () => {
    expect(() => zapAllowList({ curvePublicKeys: ["not-a-key-secret-material"] })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    try {
      zapAllowList({ curvePublicKeys: ["not-a-key-secret-material"] });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("secret-material");
    }
  });
});

describe("a CURVE server guarded by zapAllowList over tcp", () => {
  let auth: ZapAuthenticator | undefined;
  const sockets: { close(): void }[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
    auth?.close();
    auth = undefined;
  });

  async function guardedServer(addresses?: string[]): Promise<{ router: Router; outcomes: ZapOutcome[] }> {
    auth = await zapAuthenticator(zapAllowList({ curvePublicKeys: [listed.publicKey], ...(addresses ? { addresses } : {}) }));
    const outcomes: ZapOutcome[] = [];
    auth.decisions$.subscribe((outcome) => outcomes.push(outcome));
    const router = new Router({ curveServer: true, curveSecretKey: server.secretKey, zapDomain: "mesh", linger: 0 });
    sockets.push(router);
    await router.bind(bindAddress("tcp"));
    return { router, outcomes };
  }

  function client(keys: { publicKey: string; secretKey: string }): Dealer {
    const dealer = new Dealer({ curveServerKey: server.publicKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey, linger: 0, reconnectInterval: -1 });
    sockets.push(dealer);
    return dealer;
  }

  it("admits the listed key: its Z85 key is the User-Id and the decision names the key", async () => {
    const { router, outcomes } = await guardedServer(["127.0.0.1"]);
    const dealer = client(listed);
    const handshake = nextEvent(router, "handshake");
    dealer.connect(router.lastEndpoint!);
    expect((await handshake).peer.metadata.get("User-Id")?.toString()).toBe(listed.publicKey);
    await dealer.send("hello");
    const [, body] = await router.receive();
    expect(body!.toString()).toBe("hello");
    expect(outcomes).toEqual([expect.objectContaining({ status: 200, mechanism: "CURVE", curvePublicKey: listed.publicKey, userId: listed.publicKey })]);
  });

  it("refuses an unlisted key with ZAP status 400 on the client; nothing reaches the server's application", async () => {
    const { router, outcomes } = await guardedServer();
    const dealer = client(stranger);
    const refused = nextEvent(dealer, "handshake:error");
    dealer.connect(router.lastEndpoint!);
    const { error } = await refused;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(400);
    expect(outcomes).toEqual([expect.objectContaining({ status: 400, curvePublicKey: stranger.publicKey })]);
    await dealer.send("must not arrive").catch(() => undefined);
    await expect(Promise.race([router.receive(), new Promise((resolve) => setTimeout(resolve, 200, "nothing"))])).resolves.toBe("nothing");
  });

  it("refuses the listed key from an address not on the list (negative control for the address check)", async () => {
    const { router, outcomes } = await guardedServer(["127.0.0.2"]);
    const dealer = client(listed);
    const refused = nextEvent(dealer, "handshake:error");
    dealer.connect(router.lastEndpoint!);
    expect(((await refused).error as AuthenticationError).status).toBe(400);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([400]);
  });
});
