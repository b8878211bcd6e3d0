/**
 * Pairing with a server from the guide: a pyzmq Binary Star server written
 * from the guide's description (peers/bstar_srv.py), in both roles against
 * a Privateer server, and a pair of two of them behind the Privateer
 * failover client. The Python server reads state frames one at a time, as
 * the guide's C server does, so the term frame Privateer sends reaches it as
 * a message of its own: it must neither crash nor change state because of it.
 */
import * as path from "node:path";
import { filter, firstValueFrom, timeout } from "rxjs";
import { BinaryStar, BinaryStarClient, type BinaryStarEndpoints, type BinaryStarEvent, type BinaryStarRole, type BinaryStarState } from "../../../patterns/binary-star";
import { PythonPeers, type PythonPeer } from "../../helpers/python";
import { tcpPair } from "./pair";

jest.setTimeout(30000);

const HB = 100;

const peers = new PythonPeers(path.join(__dirname, "peers"));
const servers: BinaryStar[] = [];
const clients: BinaryStarClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await peers.killAll();
});

function python(role: BinaryStarRole, endpoints: BinaryStarEndpoints): PythonPeer {
  return peers.start("bstar_srv.py", [role, endpoints.frontend!, endpoints.statePublisher, endpoints.stateSubscriber, String(HB)]);
}

const line = (peer: PythonPeer, text: string, ms = 10000) => peer.waitForLine((l) => l === text, JSON.stringify(text), ms);

async function privateer(role: BinaryStarRole, endpoints: BinaryStarEndpoints, events: BinaryStarEvent[] = []): Promise<BinaryStar> {
  const star = new BinaryStar({ role, endpoints, heartbeat: HB });
  servers.push(star);
  star.events$.subscribe((event) => events.push(event));
  star.requests$.subscribe((request) => void request.reply(["privateer", ...request.body]));
  await star.start();
  return star;
}

function reach(star: BinaryStar, state: BinaryStarState, ms = 5000): Promise<BinaryStarState> {
  return firstValueFrom(star.state$.pipe(filter((s) => s === state), timeout(ms)));
}

function failoverClient(endpoints: { primary: BinaryStarEndpoints; backup: BinaryStarEndpoints }): BinaryStarClient {
  const client = new BinaryStarClient([endpoints.primary.frontend!, endpoints.backup.frontend!], { timeout: 300, settleDelay: 250, retries: 9 });
  clients.push(client);
  return client;
}

const text = (frames: Buffer[]) => frames.map(String);

describe("Binary Star against a pyzmq server from the guide", () => {
  it("Privateer primary + Python backup: settle, fail over to Python, and the restarted primary comes back passive", async () => {
    const endpoints = await tcpPair();
    const backup = python("backup", endpoints.backup);
    await line(backup, "ready");
    const events: BinaryStarEvent[] = [];
    const primary = await privateer("primary", endpoints.primary, events);
    await reach(primary, "active");
    await line(backup, "state passive");
    const client = failoverClient(endpoints);
    expect(text(await client.call("one"))).toEqual(["privateer", "one"]);
    // The Python server hears a second frame ("term:1") after each digit and shrugs it off.
    expect(backup.lines.filter((l) => l.startsWith("fatal") || l === "state active")).toEqual([]);
    // It sends no term; Privateer records none.
    await firstValueFrom(primary.events$.pipe(filter((e) => e.type === "peer-state" && e.state === "passive"), timeout(5000)));
    expect(events.filter((e) => e.type === "peer-state")).toEqual([
      { type: "peer-state", state: "backup", term: undefined },
      { type: "peer-state", state: "passive", term: undefined },
    ]);

    await primary.close();
    expect(text(await client.call("two"))).toEqual(["two"]);
    await line(backup, "state active");
    await line(backup, "served two");

    const restarted = await privateer("primary", endpoints.primary);
    await reach(restarted, "passive");
    expect(text(await client.call("three"))).toEqual(["three"]);
    expect(restarted.state).toBe("passive");
    expect(backup.lines.some((l) => l.startsWith("fatal"))).toBe(false);
  });

  it("Python primary + Privateer backup: settle, and the Privateer backup takes over when Python dies", async () => {
    const endpoints = await tcpPair();
    const events: BinaryStarEvent[] = [];
    const backup = await privateer("backup", endpoints.backup, events);
    const primary = python("primary", endpoints.primary);
    await line(primary, "state active");
    await reach(backup, "passive");
    const client = failoverClient(endpoints);
    expect(text(await client.call("one"))).toEqual(["one"]);
    await line(primary, "served one");

    await primary.kill("SIGKILL");
    expect(text(await client.call("two"))).toEqual(["privateer", "two"]);
    expect(backup.state).toBe("active");
    expect(events.filter((e) => e.type === "state-changed").map((e) => (e as { to: string }).to)).toEqual(["passive", "active"]);
    // A Python primary restarted now sees Privateer active and settles passive.
    const again = python("primary", endpoints.primary);
    await line(again, "state passive");
    expect(text(await client.call("three"))).toEqual(["privateer", "three"]);
  });

  it("the Privateer failover client against a pair of Python servers", async () => {
    const endpoints = await tcpPair();
    const backup = python("backup", endpoints.backup);
    await line(backup, "ready");
    const primary = python("primary", endpoints.primary);
    await line(primary, "state active");
    await line(backup, "state passive");
    const client = failoverClient(endpoints);
    const events: string[] = [];
    client.events$.subscribe((e) => events.push(e.type));
    expect(text(await client.call("one"))).toEqual(["one"]);
    await primary.kill("SIGKILL");
    expect(text(await client.call("two"))).toEqual(["two"]);
    await line(backup, "state active");
    await line(backup, "served two");
    expect(events).toContain("failover");
  });
});
