/**
 * Majordomo over CURVE on tcp, guarded by a ZAP allow-list in this process:
 * the broker binds its ROUTER as a CURVE server (`socket`), workers and
 * clients connect as CURVE clients with the broker's public key. A worker
 * and a client with unlisted keys are refused and get no service while the
 * listed ones are served; a worker's sockets re-created after the broker
 * restarts are CURVE clients too. Then a broker pair over CURVE, including
 * the state exchange between the brokers (`pair.peerSocket`), fails over
 * with a client served by the backup.
 */
import { filter, firstValueFrom, ReplaySubject, timeout } from "rxjs";
import { MajordomoBroker, MajordomoClient, MajordomoError, MajordomoWorker, type BrokerEvent, type WorkerEvent } from "../../../patterns/majordomo";
import type { BinaryStarEvent, BinaryStarRole } from "../../../patterns/binary-star";
import { curveKeyPair, zapAllowList, zapAuthenticator, type SocketOptions, type ZapAuthenticator, type ZapOutcome } from "../../../src";
import { freePorts } from "../../helpers/free-address";

jest.setTimeout(30000);

/** MDP heartbeat (and the workers' reconnect interval): short, with room for a machine busy with other tests. */
const MDP_HB = 250;
/** The pair's heartbeat: a broker is dead after 2 × PAIR_HB of silence. */
const PAIR_HB = 100;

type KeyPair = ReturnType<typeof curveKeyPair>;
const brokerKeys = { primary: curveKeyPair(), backup: curveKeyPair() };
const workerKey = curveKeyPair();
const clientKey = curveKeyPair();
const stranger = curveKeyPair();

let auth: ZapAuthenticator | undefined;
let decisions: ZapOutcome[] = [];
let decisionReplay = new ReplaySubject<ZapOutcome>();
const brokers: MajordomoBroker[] = [];
const workers: MajordomoWorker[] = [];
const clients: MajordomoClient[] = [];

beforeEach(async () => {
  auth = await zapAuthenticator(
    zapAllowList({ curvePublicKeys: [brokerKeys.primary.publicKey, brokerKeys.backup.publicKey, workerKey.publicKey, clientKey.publicKey] }),
  );
  decisions = [];
  decisionReplay = new ReplaySubject<ZapOutcome>();
  auth.decisions$.subscribe((outcome) => {
    decisions.push(outcome);
    decisionReplay.next(outcome);
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
  auth?.close();
  auth = undefined;
});

/** Waits for the authenticator's decision on `key` in `domain`. */
const decision = (domain: string, key: string) =>
  firstValueFrom(decisionReplay.pipe(filter((d) => d.domain === domain && d.curvePublicKey === key), timeout(5000)));
const decided = (domain: string, key: string, status: number) =>
  decisions.some((d) => d.domain === domain && d.curvePublicKey === key && d.status === status);

/** The settings of a CURVE client with `key` talking to a server whose public key is `server`. */
const curveClient = (key: KeyPair, server: string): SocketOptions => ({ curvePublicKey: key.publicKey, curveSecretKey: key.secretKey, curveServerKey: server });

function broker(role: BinaryStarRole, pair?: { statePublisher: string; stateSubscriber: string }): { broker: MajordomoBroker; events: BrokerEvent[] } {
  const other: BinaryStarRole = role === "primary" ? "backup" : "primary";
  const b = new MajordomoBroker({
    heartbeatInterval: MDP_HB,
    linger: 0,
    socket: { curveServer: true, curveSecretKey: brokerKeys[role].secretKey, zapDomain: `mdp-${role}` },
    ...(pair
      ? {
          pair: {
            role,
            ...pair,
            heartbeat: PAIR_HB,
            // The state publisher takes the ROUTER's CURVE server settings by default; the subscriber is a CURVE client of the other broker.
            peerSocket: curveClient(brokerKeys[role], brokerKeys[other].publicKey),
          },
        }
      : {}),
  });
  brokers.push(b);
  const events: BrokerEvent[] = [];
  b.events$.subscribe((event) => events.push(event));
  return { broker: b, events };
}

function worker(endpoints: string | readonly string[], key: KeyPair, service: string, serverKey: (endpoint: string) => string): { worker: MajordomoWorker; events: WorkerEvent[] } {
  const w = new MajordomoWorker({
    broker: endpoints,
    service,
    heartbeatInterval: MDP_HB,
    reconnectInterval: MDP_HB,
    socket: (endpoint) => curveClient(key, serverKey(endpoint)),
  });
  workers.push(w);
  const events: WorkerEvent[] = [];
  w.events$.subscribe((event) => events.push(event));
  w.serve(({ body }) => [`${service}:`, ...body]);
  return { worker: w, events };
}

function client(endpoints: string | readonly string[], key: KeyPair, serverKey: (endpoint: string) => string, timeoutMs: number, retries: number): MajordomoClient {
  const c = new MajordomoClient({ broker: endpoints, timeout: timeoutMs, retries, socket: (endpoint) => curveClient(key, serverKey(endpoint)) });
  clients.push(c);
  return c;
}

const text = (frames: Buffer[]) => frames.map(String);

describe("Majordomo over CURVE with a ZAP allow-list", () => {
  it("listed workers and clients are served; an unlisted worker never registers, an unlisted client times out", async () => {
    const [port] = await freePorts(1);
    const endpoint = `tcp://127.0.0.1:${port}`;
    const serverKey = () => brokerKeys.primary.publicKey;
    const first = broker("primary");
    await first.broker.bind(endpoint);
    worker(endpoint, workerKey, "echo", serverKey);
    worker(endpoint, stranger, "secret", serverKey);
    const allowed = client(endpoint, clientKey, serverKey, 2000, 2);

    expect(text(await allowed.call("echo", "hello"))).toEqual(["echo:", "hello"]);
    expect((await decision("mdp-primary", workerKey.publicKey)).status).toBe(200);
    expect((await decision("mdp-primary", clientKey.publicKey)).status).toBe(200);
    // The unlisted worker was refused at its handshake: the broker never saw its READY.
    expect((await decision("mdp-primary", stranger.publicKey)).status).toBe(400);
    // (The echo worker may register more than once on a busy machine, after a missed heartbeat: the set is what counts.)
    expect(new Set(first.events.flatMap((e) => (e.type === "worker-ready" ? [e.service] : [])))).toEqual(new Set(["echo"]));
    expect(first.broker.services().find((s) => s.name === "secret")?.workers ?? 0).toBe(0);

    const refusedAt = decisions.length;
    const queued = () => first.events.filter((e) => e.type === "request-queued").length;
    const queuedBefore = queued();
    const intruder = client(endpoint, stranger, serverKey, 300, 1);
    await expect(intruder.call("echo", "let me in")).rejects.toBeInstanceOf(MajordomoError);
    await expect(intruder.call("echo", "let me in")).rejects.toMatchObject({ reason: "timeout" });
    expect(decisions.slice(refusedAt).filter((d) => d.curvePublicKey === stranger.publicKey).every((d) => d.status === 400)).toBe(true);
    // Nothing of the refused client's reached the broker.
    expect(queued()).toBe(queuedBefore);
    // The listed client is still served after the refusals.
    expect(text(await allowed.call("echo", "still here"))).toEqual(["echo:", "still here"]);
  });

  it("a worker's sockets re-created after the broker restarts are CURVE clients too", async () => {
    const [port] = await freePorts(1);
    const endpoint = `tcp://127.0.0.1:${port}`;
    const serverKey = () => brokerKeys.primary.publicKey;
    const first = broker("primary");
    await first.broker.bind(endpoint);
    const w = worker(endpoint, workerKey, "echo", serverKey);
    expect(text(await client(endpoint, clientKey, serverKey, 2000, 2).call("echo", "before"))).toEqual(["echo:", "before"]);

    await first.broker.close();
    const second = broker("primary");
    await second.broker.bind(endpoint);
    // A fresh client and the reconnected worker: both handshake with the new broker under CURVE.
    expect(text(await client(endpoint, clientKey, serverKey, 2000, 4).call("echo", "after"))).toEqual(["echo:", "after"]);
    expect(second.events.some((e) => e.type === "worker-ready")).toBe(true);
    expect(w.events.filter((e) => e.type === "ready").length).toBeGreaterThanOrEqual(2);
    expect(decisions.filter((d) => d.curvePublicKey === workerKey.publicKey && d.status === 200).length).toBeGreaterThanOrEqual(2);
  });

  it("a broker pair over CURVE: the brokers exchange state under their keys, and a client is served by the backup after the primary closes", async () => {
    const [pf, pp, bf, bp] = (await freePorts(4)).map((p) => `tcp://127.0.0.1:${p}`) as [string, string, string, string];
    const serverKey = (endpoint: string) => (endpoint === pf ? brokerKeys.primary.publicKey : brokerKeys.backup.publicKey);
    const backup = broker("backup", { statePublisher: bp, stateSubscriber: pp });
    const primary = broker("primary", { statePublisher: pp, stateSubscriber: bp });
    const pairEvents = new ReplaySubject<{ role: BinaryStarRole; event: BinaryStarEvent }>();
    for (const [role, b] of [["primary", primary], ["backup", backup]] as const) b.broker.pair!.events$.subscribe((event) => pairEvents.next({ role, event }));
    const heard = (role: BinaryStarRole, state: string) =>
      firstValueFrom(pairEvents.pipe(filter(({ role: r, event }) => r === role && event.type === "peer-state" && event.state === state), timeout(5000)));
    await backup.broker.bind(bf);
    await primary.broker.bind(pf);
    // Each broker's subscriber is admitted by the other's publisher (same ZAP domain as its ROUTER, by default), and hears it.
    await Promise.all([heard("backup", "active"), heard("primary", "passive")]);
    expect((await decision("mdp-primary", brokerKeys.backup.publicKey)).status).toBe(200);
    expect((await decision("mdp-backup", brokerKeys.primary.publicKey)).status).toBe(200);
    expect(primary.broker.pair!.state).toBe("active");
    expect(backup.broker.pair!.state).toBe("passive");

    worker([pf, bf], workerKey, "echo", serverKey);
    const c = client([pf, bf], clientKey, serverKey, 500, 6);
    expect(text(await c.call("echo", "one"))).toEqual(["echo:", "one"]);
    expect(primary.events.some((e) => e.type === "reply-sent")).toBe(true);

    await primary.broker.close();
    expect(text(await c.call("echo", "two"))).toEqual(["echo:", "two"]);
    expect(backup.broker.pair!.state).toBe("active");
    expect(backup.events.some((e) => e.type === "reply-sent")).toBe(true);
    // The client's and the worker's sockets to the backup were CURVE clients under the backup's key, admitted there.
    expect(decided("mdp-backup", clientKey.publicKey, 200)).toBe(true);
    expect(decided("mdp-backup", workerKey.publicKey, 200)).toBe(true);
    expect(decisions.filter((d) => d.status !== 200)).toEqual([]);
  });
});
