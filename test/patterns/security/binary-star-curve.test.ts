/**
 * A Binary Star pair over CURVE on tcp, guarded by a ZAP allow-list in this
 * process: each server binds its frontend and state publisher as a CURVE
 * server under its own key (`socket`), and its state subscriber connects to
 * the peer's publisher as a CURVE client with the peer's key (`peerSocket`),
 * so the state exchange itself is authenticated. Each server has its own
 * ZAP domain, which tells from the authenticator's decisions which server a
 * handshake reached.
 */
import { filter, firstValueFrom, ReplaySubject, take, timeout, toArray } from "rxjs";
import {
  BinaryStar,
  BinaryStarClient,
  BinaryStarError,
  type BinaryStarEndpoints,
  type BinaryStarEvent,
  type BinaryStarRole,
  type BinaryStarState,
} from "../../../patterns/binary-star";
import { AuthenticationError, curveKeyPair, zapAllowList, zapAuthenticator, type ZapAuthenticator, type ZapOutcome } from "../../../src";
import { tcpPair } from "../binary-star/pair";

jest.setTimeout(30000);

const HB = 100;
const TIMEOUT = 400;
const SETTLE = 250;

const keys = { primary: curveKeyPair(), backup: curveKeyPair() };
const allowed = curveKeyPair();
const stranger = curveKeyPair();
const other = (role: BinaryStarRole): BinaryStarRole => (role === "primary" ? "backup" : "primary");

let auth: ZapAuthenticator | undefined;
let decisions: ZapOutcome[] = [];
let decisionReplay = new ReplaySubject<ZapOutcome>();
const servers: BinaryStar[] = [];
const clients: BinaryStarClient[] = [];

beforeEach(async () => {
  // Both servers' keys are listed: each one's state subscriber is a CURVE client of the other's publisher.
  auth = await zapAuthenticator(zapAllowList({ curvePublicKeys: [keys.primary.publicKey, keys.backup.publicKey, allowed.publicKey] }));
  decisions = [];
  decisionReplay = new ReplaySubject<ZapOutcome>();
  auth.decisions$.subscribe((outcome) => {
    decisions.push(outcome);
    decisionReplay.next(outcome);
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  auth?.close();
  auth = undefined;
});

/**
 * A server under its own key; it answers with its role and the body. The
 * subscriber's client key is the server's own unless `peerKeys` says otherwise.
 */
async function start(
  role: BinaryStarRole,
  endpoints: BinaryStarEndpoints,
  peerKeys: { publicKey: string; secretKey: string } = keys[role],
): Promise<{ star: BinaryStar; events: BinaryStarEvent[]; seen: (match: (event: BinaryStarEvent) => boolean) => Promise<BinaryStarEvent> }> {
  const star = new BinaryStar({
    role,
    endpoints,
    heartbeat: HB,
    socket: { curveServer: true, curveSecretKey: keys[role].secretKey, zapDomain: `bstar-${role}` },
    peerSocket: { curvePublicKey: peerKeys.publicKey, curveSecretKey: peerKeys.secretKey, curveServerKey: keys[other(role)].publicKey },
  });
  servers.push(star);
  const events: BinaryStarEvent[] = [];
  // Replayed, so a wait started after the event still sees it.
  const replay = new ReplaySubject<BinaryStarEvent>();
  star.events$.subscribe((event) => {
    events.push(event);
    replay.next(event);
  });
  star.requests$.subscribe((request) => void request.reply([role, ...request.body]));
  await star.start();
  const seen = (match: (event: BinaryStarEvent) => boolean) => firstValueFrom(replay.pipe(filter(match), timeout(5000)));
  return { star, events, seen };
}

function reach(star: BinaryStar, state: BinaryStarState, ms = 5000): Promise<BinaryStarState> {
  return firstValueFrom(star.state$.pipe(filter((s) => s === state), timeout(ms)));
}

/** A failover client with `key`, given each server's public key for the socket aimed at it. */
function client(endpoints: { primary: BinaryStarEndpoints; backup: BinaryStarEndpoints }, key: { publicKey: string; secretKey: string }, retries = 9): BinaryStarClient {
  const serverKey = (endpoint: string) => (endpoint === endpoints.primary.frontend ? keys.primary.publicKey : keys.backup.publicKey);
  const c = new BinaryStarClient([endpoints.primary.frontend!, endpoints.backup.frontend!], {
    timeout: TIMEOUT,
    settleDelay: SETTLE,
    retries,
    socket: (endpoint) => ({ curvePublicKey: key.publicKey, curveSecretKey: key.secretKey, curveServerKey: serverKey(endpoint) }),
  });
  clients.push(c);
  return c;
}

const text = (frames: Buffer[]) => frames.map(String);
const decided = (domain: string, key: string, status: number) =>
  decisions.some((d) => d.domain === domain && d.curvePublicKey === key && d.status === status);
/** Waits for the authenticator's decision on `key` in `domain`. */
const decision = (domain: string, key: string) =>
  firstValueFrom(decisionReplay.pipe(filter((d) => d.domain === domain && d.curvePublicKey === key), timeout(5000)));

describe("Binary Star over CURVE with a ZAP allow-list", () => {
  it("the servers exchange state over CURVE, an allowed client is served and fails over to the backup under the backup's key", async () => {
    const endpoints = await tcpPair();
    const backup = await start("backup", endpoints.backup);
    const primary = await start("primary", endpoints.primary);
    await Promise.all([reach(primary.star, "active"), reach(backup.star, "passive")]);
    // Each heard the other's state, so each subscriber's CURVE handshake was admitted by the other's ZAP domain.
    await backup.seen((e) => e.type === "peer-state" && e.state === "active");
    await primary.seen((e) => e.type === "peer-state" && e.state === "passive");
    expect((await decision("bstar-primary", keys.backup.publicKey)).status).toBe(200);
    expect((await decision("bstar-backup", keys.primary.publicKey)).status).toBe(200);

    const c = client(endpoints, allowed);
    expect(text(await c.call("one"))).toEqual(["primary", "one"]);
    await primary.star.close();
    expect(text(await c.call("two"))).toEqual(["backup", "two"]);
    expect(backup.star.state).toBe("active");
    // The failover socket was a CURVE client of the backup, under the backup's key, admitted there.
    expect(decided("bstar-primary", allowed.publicKey, 200)).toBe(true);
    expect(decided("bstar-backup", allowed.publicKey, 200)).toBe(true);
    expect(decisions.filter((d) => d.status !== 200)).toEqual([]);
    expect([...primary.events, ...backup.events].filter((e) => e.type === "socket-error")).toEqual([]);
  });

  it("a client with an unlisted key is refused at both servers and times out, while an allowed one is served", async () => {
    const endpoints = await tcpPair();
    const backup = await start("backup", endpoints.backup);
    const primary = await start("primary", endpoints.primary);
    await Promise.all([reach(primary.star, "active"), reach(backup.star, "passive")]);

    const refused = client(endpoints, stranger, 1).call("let me in");
    const served = client(endpoints, allowed).call("hello");
    await expect(refused).rejects.toBeInstanceOf(BinaryStarError);
    await expect(refused).rejects.toMatchObject({ reason: "timeout" });
    expect(text(await served)).toEqual(["primary", "hello"]);
    expect(decided("bstar-primary", stranger.publicKey, 400)).toBe(true);
    expect(decided("bstar-backup", stranger.publicKey, 400)).toBe(true);
    // Refused votes never reached the servers: the backup did not take over, the primary is still active.
    expect(primary.star.state).toBe("active");
    expect(backup.star.state).toBe("passive");
  });

  it("negative control: a backup whose state subscriber uses an unlisted key never hears the primary", async () => {
    const endpoints = await tcpPair();
    const backup = await start("backup", endpoints.backup, stranger);
    const primary = await start("primary", endpoints.primary);
    // The primary hears the backup (its subscriber's key is listed); the backup is refused by the primary's publisher.
    await primary.seen((e) => e.type === "peer-state");
    expect((await decision("bstar-primary", stranger.publicKey)).status).toBe(400);
    // The backup says why it hears nothing: a typed socket-error whose cause is the ZAP refusal.
    const refusal = await backup.seen((e) => e.type === "socket-error");
    expect(refusal).toMatchObject({ error: { reason: "socket", cause: expect.any(AuthenticationError) } });
    expect(((refusal as Extract<BinaryStarEvent, { type: "socket-error" }>).error.cause as AuthenticationError).status).toBe(400);
    await backup.seen((e) => e.type === "peer-dead");
    // The primary published every heartbeat meanwhile, and was heard (above): only the refusal kept the backup deaf.
    expect(decided("bstar-primary", stranger.publicKey, 400)).toBe(true);
    expect(backup.events.filter((e) => e.type === "peer-state")).toEqual([]);
    // Reported once for the run of refused reconnects, not at every attempt.
    await firstValueFrom(decisionReplay.pipe(filter((d) => d.curvePublicKey === stranger.publicKey), take(2), toArray(), timeout(5000)));
    expect(backup.events.filter((e) => e.type === "socket-error")).toHaveLength(1);
    expect(primary.events.filter((e) => e.type === "socket-error")).toEqual([]);
  });
});
