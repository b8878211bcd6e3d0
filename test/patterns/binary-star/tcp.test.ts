/**
 * A pair over tcp on loopback in real time, with short heartbeats, and the
 * failover client: it fails over when the active server goes away and
 * stays with the one that answers; a restarted primary comes back passive.
 */
import { filter, firstValueFrom, timeout } from "rxjs";
import {
  BinaryStar,
  BinaryStarClient,
  BinaryStarError,
  type BinaryStarClientEvent,
  type BinaryStarEndpoints,
  type BinaryStarRole,
  type BinaryStarState,
} from "../../../patterns/binary-star";
import { Pull, Push } from "../../../src";
import { freePorts } from "../../helpers/free-address";
import { tcpPair } from "./pair";

jest.setTimeout(30000);

const HB = 100;
const TIMEOUT = 300;
const SETTLE = 250;

const servers: BinaryStar[] = [];
const sockets: Array<Push | Pull> = [];
const clients: BinaryStarClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  for (const socket of sockets.splice(0)) socket.close();
});

/** A server that answers each request with its role and the request body. */
async function start(role: BinaryStarRole, endpoints: BinaryStarEndpoints, served: string[] = []): Promise<BinaryStar> {
  const star = new BinaryStar({ role, endpoints, heartbeat: HB });
  servers.push(star);
  star.requests$.subscribe((request) => {
    served.push(request.body.map(String).join(" "));
    void request.reply([role, ...request.body]);
  });
  await star.start();
  return star;
}

function reach(star: BinaryStar, state: BinaryStarState, ms = 5000): Promise<BinaryStarState> {
  return firstValueFrom(star.state$.pipe(filter((s) => s === state), timeout(ms)));
}

function client(endpoints: { primary: BinaryStarEndpoints; backup: BinaryStarEndpoints }): { client: BinaryStarClient; events: BinaryStarClientEvent[] } {
  const c = new BinaryStarClient([endpoints.primary.frontend!, endpoints.backup.frontend!], { timeout: TIMEOUT, settleDelay: SETTLE, retries: 9 });
  clients.push(c);
  const events: BinaryStarClientEvent[] = [];
  c.events$.subscribe((event) => events.push(event));
  return { client: c, events };
}

const text = (frames: Buffer[]) => frames.map(String);

describe("Binary Star over tcp", () => {
  it("primary and backup settle as active and passive; the client is served by the primary", async () => {
    const endpoints = await tcpPair();
    const backup = await start("backup", endpoints.backup);
    const primary = await start("primary", endpoints.primary);
    await Promise.all([reach(primary, "active"), reach(backup, "passive")]);
    const { client: c } = client(endpoints);
    expect(text(await c.call("hello"))).toEqual(["primary", "hello"]);
  });

  it("when the active goes away the client fails over to the backup, which takes over on its vote", async () => {
    const endpoints = await tcpPair();
    const backupServed: string[] = [];
    const backup = await start("backup", endpoints.backup, backupServed);
    const primary = await start("primary", endpoints.primary);
    await Promise.all([reach(primary, "active"), reach(backup, "passive")]);
    const { client: c, events } = client(endpoints);
    expect(text(await c.call("one"))).toEqual(["primary", "one"]);

    const killedAt = Date.now();
    await primary.close();
    const reply = await c.call("two");
    const gap = Date.now() - killedAt;
    expect(text(reply)).toEqual(["backup", "two"]);
    expect(backup.state).toBe("active");
    // One timeout at the primary, the settle delay, maybe one refused vote at the backup, then the reply.
    expect(gap).toBeLessThan(2 * (TIMEOUT + SETTLE) + 1000);
    expect(events.filter((e) => e.type === "failover")[0]).toMatchObject({ request: 2, from: "primary", to: "backup", settleDelay: SETTLE });
    // The backup never served anything while the primary was active.
    expect(backupServed).toEqual(["two"]);
    // The client stays with the server that answered.
    expect(c.currentServer).toBe("backup");
    expect(text(await c.call("three"))).toEqual(["backup", "three"]);
  });

  it("a primary restarted while the backup is active comes back passive and serves nothing", async () => {
    const endpoints = await tcpPair();
    const backup = await start("backup", endpoints.backup);
    const primary = await start("primary", endpoints.primary);
    await Promise.all([reach(primary, "active"), reach(backup, "passive")]);
    const { client: c } = client(endpoints);
    await c.call("before");
    await primary.close();
    expect(text(await c.call("failover"))).toEqual(["backup", "failover"]);

    const restartedServed: string[] = [];
    const restarted = await start("primary", endpoints.primary, restartedServed);
    await reach(restarted, "passive");
    // A client that starts at the primary is refused there and fails over to the backup.
    const { client: fresh, events } = client(endpoints);
    expect(text(await fresh.call("after"))).toEqual(["backup", "after"]);
    expect(events.filter((e) => e.type === "timeout")[0]).toMatchObject({ server: "primary" });
    expect(restartedServed).toEqual([]);
    expect(restarted.state).toBe("passive");
    expect(backup.state).toBe("active");
  });
});

describe("Binary Star without a frontend: the voting hook", () => {
  it("voter() passes the messages of the application's own socket only on the active server; vote() decides", async () => {
    const endpoints = await tcpPair();
    const make = (role: BinaryStarRole, e: BinaryStarEndpoints) => {
      const star = new BinaryStar({ role, heartbeat: HB, endpoints: { ...e, frontend: null } });
      servers.push(star);
      return star;
    };
    const primary = make("primary", endpoints.primary);
    const backup = make("backup", endpoints.backup);
    await backup.start();
    await primary.start();
    expect(primary.frontend).toBeUndefined();
    expect(primary.endpoints.frontend).toBeNull();
    await Promise.all([reach(primary, "active"), reach(backup, "passive")]);

    // The application binds its own PULL socket on each server and hands it to voter().
    const passed: Record<string, string[]> = { primary: [], backup: [] };
    const pushers: Push[] = [];
    for (const [role, star] of [["primary", primary], ["backup", backup]] as const) {
      const pull = new Pull({ linger: 0 });
      sockets.push(pull);
      await pull.bind("tcp://127.0.0.1:*");
      star.voter(pull).subscribe((message) => passed[role]!.push(String(message[0])));
      const push = new Push({ linger: 0 });
      sockets.push(push);
      push.connect(pull.lastEndpoint!);
      pushers.push(push);
    }
    const votes = Promise.all(
      [primary, backup].map((star) => firstValueFrom(star.events$.pipe(filter((e) => e.type === "vote"), timeout(5000)))),
    );
    await pushers[0]!.send("to-primary");
    await pushers[1]!.send("to-backup");
    expect(await votes).toEqual([
      { type: "vote", accepted: true, state: "active" },
      { type: "vote", accepted: false, state: "passive", reason: "peer-alive" },
    ]);
    expect(passed).toEqual({ primary: ["to-primary"], backup: [] });
    const activeFlags: boolean[] = [];
    backup.active$.subscribe((flag) => activeFlags.push(flag));
    expect(activeFlags).toEqual([false]);
  });
});

describe("Binary Star client", () => {
  it("fails with a typed timeout when neither server answers, after retries + 1 attempts alternating between the servers", async () => {
    const [a, b] = await freePorts(2);
    const c = new BinaryStarClient([`tcp://127.0.0.1:${a}`, `tcp://127.0.0.1:${b}`], { timeout: 50, settleDelay: 10, retries: 3 });
    clients.push(c);
    const events: BinaryStarClientEvent[] = [];
    c.events$.subscribe((event) => events.push(event));
    const error = (await c.call("anyone?").catch((e: unknown) => e)) as BinaryStarError;
    expect(error).toBeInstanceOf(BinaryStarError);
    expect(error).toMatchObject({ reason: "timeout", code: "EAGAIN" });
    expect(events.flatMap((e) => (e.type === "request-sent" ? [e.server] : []))).toEqual(["primary", "backup", "primary", "backup"]);
    expect(events.filter((e) => e.type === "failover")).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: "gave-up", request: 1, attempts: 4 });
  });

  it("with attemptsPerServer 2 tries each server twice before failing over", async () => {
    const [a, b] = await freePorts(2);
    const c = new BinaryStarClient([`tcp://127.0.0.1:${a}`, `tcp://127.0.0.1:${b}`], { timeout: 40, settleDelay: 0, retries: 3, attemptsPerServer: 2 });
    clients.push(c);
    const sent: string[] = [];
    c.events$.subscribe((e) => e.type === "request-sent" && sent.push(e.server));
    await expect(c.call("x")).rejects.toMatchObject({ reason: "timeout" });
    expect(sent).toEqual(["primary", "primary", "backup", "backup"]);
  });

  it("fails pending requests with closed when closed, and refuses new ones", async () => {
    const [a, b] = await freePorts(2);
    const c = new BinaryStarClient([`tcp://127.0.0.1:${a}`, `tcp://127.0.0.1:${b}`], { timeout: 5000 });
    const events: BinaryStarClientEvent[] = [];
    c.events$.subscribe((event) => events.push(event));
    const pending = c.call("lost");
    const closing = c.close();
    expect(c.close()).toBe(closing);
    await expect(pending).rejects.toMatchObject({ reason: "closed", code: "EBADF" });
    await closing;
    expect(events.at(-1)).toEqual({ type: "close" });
    await expect(c.call("late")).rejects.toMatchObject({ reason: "closed" });
  });

  it("a request whose AbortSignal fires fails with aborted and is not resent", async () => {
    const [a, b] = await freePorts(2);
    const c = new BinaryStarClient([`tcp://127.0.0.1:${a}`, `tcp://127.0.0.1:${b}`], { timeout: 5000 });
    clients.push(c);
    const events: BinaryStarClientEvent[] = [];
    c.events$.subscribe((event) => events.push(event));
    const controller = new AbortController();
    const pending = c.call("cancel me", { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ reason: "aborted", code: "ECANCELED" });
    expect(events.map((e) => e.type)).toEqual(["request-sent", "aborted"]);
    await expect(c.call("already", { signal: AbortSignal.abort() })).rejects.toMatchObject({ reason: "aborted" });
  });

  it("per-request options override the client's timeout and retries", async () => {
    const [a, b] = await freePorts(2);
    const c = new BinaryStarClient([`tcp://127.0.0.1:${a}`, `tcp://127.0.0.1:${b}`], { timeout: 5000, settleDelay: 0, retries: 5 });
    clients.push(c);
    const startedAt = Date.now();
    await expect(c.call("quick", { timeout: 30, retries: 1 })).rejects.toMatchObject({ reason: "timeout" });
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(() => c.request("bad", { timeout: 0 })).toThrow(/timeout/);
  });

  it("refuses bad options", () => {
    expect(() => new BinaryStarClient(["tcp://127.0.0.1:1"] as unknown as [string, string])).toThrow(BinaryStarError);
    expect(() => new BinaryStarClient(["a", "b"], { timeout: 0 })).toThrow(/timeout/);
    expect(() => new BinaryStarClient(["a", "b"], { settleDelay: -1 })).toThrow(/settleDelay/);
  });
});
