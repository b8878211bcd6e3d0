import { filter, interval, lastValueFrom, map, take, toArray } from "rxjs";
import {
  MajordomoAsyncClient,
  MajordomoBroker,
  MajordomoClient,
  MajordomoWorker,
} from "../../../patterns/majordomo";
import { nextBrokerEvents, startBroker as startBrokerWith, Tracker } from "./e2e";
import { PythonPeers } from "../../helpers/python";
import { describeIfPeer, PYZMQ } from "../../helpers/prerequisites";

// Outside CI, skipped when pyzmq is missing (npm test lists it at the end); under CI, run regardless.
const describeWithPyzmq = describeIfPeer(PYZMQ);

const HB = 200;
const peers = new PythonPeers();
const tracker = new Tracker();
const track = <T extends { close(): unknown }>(thing: T): T => tracker.track(thing);
const startBroker = (options: ConstructorParameters<typeof MajordomoBroker>[0] = {}) =>
  startBrokerWith(tracker, { heartbeatInterval: HB, ...options });

afterEach(async () => {
  await tracker.closeAll();
  await peers.killAll();
});

const text = (frames: Buffer[]) => frames.map((f) => f.toString());

describeWithPyzmq.each(["0.1", "0.2"] as const)("Privateer broker with Python MDP %s peers", (version) => {
  it("serves a Python client through a Python worker, byte-exact both ways", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 1);
    const worker = peers.start("mdp_worker.py", [endpoint, version, "echo", "--heartbeat", String(HB)]);
    expect((await ready)[0]).toMatchObject({ type: "worker-ready", service: "echo", version });
    const client = peers.start("mdp_client.py", [endpoint, version]);
    await client.waitFor("READY");
    client.send(JSON.stringify(["echo", "hello", "world"]));
    expect(await client.waitFor("FINAL")).toBe(`FINAL ${JSON.stringify(["echo", "hello", "world"])}`);
    expect(worker.matching("REQUEST")).toEqual([`REQUEST ${JSON.stringify(["hello", "world"])}`]);
  });

  it("answers MMI from a Python client", async () => {
    const { endpoint } = await startBroker();
    const client = peers.start("mdp_client.py", [endpoint, version]);
    await client.waitFor("READY");
    client.send(JSON.stringify(["mmi.service", "echo"]));
    expect(await client.waitFor("FINAL")).toBe(`FINAL ${JSON.stringify(["mmi.service", "404"])}`);
    client.send(JSON.stringify(["mmi.bogus", "x"]));
    expect(await client.waitFor("FINAL", 5000, 1)).toBe(`FINAL ${JSON.stringify(["mmi.bogus", "501"])}`);
  });

  it("serves a Python client through a Privateer worker", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 1);
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "upper", version, heartbeatInterval: HB }));
    worker.serve(({ body }) => body.map((f) => f.toString().toUpperCase()));
    await ready;
    const client = peers.start("mdp_client.py", [endpoint, version]);
    await client.waitFor("READY");
    client.send(JSON.stringify(["upper", "abc"]));
    expect(await client.waitFor("FINAL")).toBe(`FINAL ${JSON.stringify(["upper", "ABC"])}`);
  });

  it("serves a Privateer client through a Python worker", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 1);
    peers.start("mdp_worker.py", [endpoint, version, "echo", "--heartbeat", String(HB)]);
    await ready;
    const client = track(new MajordomoClient({ broker: endpoint, version, timeout: 3000 }));
    expect(text(await lastValueFrom(client.request("echo", ["x", "y"])))).toEqual(["x", "y"]);
  });
});

describeWithPyzmq("partial replies", () => {
  it("reach a Privateer async client in order, from a Python 0.2 worker", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 1);
    peers.start("mdp_worker.py", [endpoint, "0.2", "stream", "--heartbeat", String(HB), "--parts", "5"]);
    await ready;
    const client = track(new MajordomoAsyncClient({ broker: endpoint, timeout: 3000 }));
    const parts = await lastValueFrom(client.request("stream", "p").pipe(toArray()));
    expect(parts.map((frames) => frames.toString())).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5", "p"]);
  });

  it("reach a Python 0.2 client in order, from a Privateer worker streaming an Observable", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 1);
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "count", heartbeatInterval: HB }));
    worker.serve(({ body }) =>
      interval(10).pipe(
        take(Number(body[0]!.toString())),
        map((i) => String(i + 1)),
      ),
    );
    await ready;
    const client = peers.start("mdp_client.py", [endpoint, "0.2"]);
    await client.waitFor("READY");
    client.send(JSON.stringify(["count", "3"]));
    await client.waitFor("FINAL");
    expect(client.lines.filter((l) => l !== "READY")).toEqual([
      `PARTIAL ${JSON.stringify(["count", "1"])}`,
      `PARTIAL ${JSON.stringify(["count", "2"])}`,
      `FINAL ${JSON.stringify(["count", "3"])}`,
    ]);
  });
});

describeWithPyzmq.each(["0.1", "0.2"] as const)("Privateer MDP %s peers through the Python broker", (version) => {
  async function pythonBroker(): Promise<string> {
    const broker = peers.start("mdp_broker.py", ["--heartbeat", String(HB)]);
    return (await broker.waitFor("READY")).split(" ")[1]!;
  }

  it("a Privateer worker serves a Privateer client, and MMI works", async () => {
    const endpoint = await pythonBroker();
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "rev", version, heartbeatInterval: HB }));
    worker.serve(({ body }) => body.map((f) => [...f.toString()].reverse().join("")));
    const client = track(new MajordomoClient({ broker: endpoint, version, timeout: 5000 }));
    expect(text(await lastValueFrom(client.request("rev", ["abc", "xyz"])))).toEqual(["cba", "zyx"]);
    expect(await client.serviceAvailable("rev")).toBe(true);
    expect(await client.serviceAvailable("nothing")).toBe(false);
  });

  it("a Privateer worker keeps its registration over many heartbeat intervals", async () => {
    const endpoint = await pythonBroker();
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "hb", version, heartbeatInterval: HB }));
    const problems: unknown[] = [];
    worker.events$
      .pipe(filter((e) => e.type === "broker-lost" || e.type === "disconnect-received"))
      .subscribe((e) => problems.push(e));
    worker.serve(({ body }) => body);
    const client = track(new MajordomoClient({ broker: endpoint, version, timeout: 5000 }));
    for (let i = 0; i < 3; i++) {
      expect(text(await lastValueFrom(client.request("hb", `n${i}`)))).toEqual([`n${i}`]);
      // Time itself is under test here: several heartbeat intervals must pass without the worker losing the broker.
      await new Promise((resolve) => setTimeout(resolve, HB * 4));
    }
    expect(problems).toEqual([]);
  });
});

describeWithPyzmq("MDP 0.2 through the Python broker", () => {
  it("streams a Privateer worker's partial replies to a Privateer async client in order", async () => {
    const broker = peers.start("mdp_broker.py", ["--heartbeat", String(HB)]);
    const endpoint = (await broker.waitFor("READY")).split(" ")[1]!;
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "count", heartbeatInterval: HB }));
    worker.serve(() => interval(10).pipe(take(4), map((i) => `part-${i + 1}`)));
    const client = track(new MajordomoAsyncClient({ broker: endpoint, timeout: 5000 }));
    const parts = await lastValueFrom(client.request("count", "go").pipe(toArray()));
    expect(parts.map(text)).toEqual([["part-1"], ["part-2"], ["part-3"], ["part-4"]]);
  });

  it("serves a 0.1 client from a 0.2 worker (the client sees only the final part) and a 0.2 client from a 0.1 worker", async () => {
    const broker = peers.start("mdp_broker.py", ["--heartbeat", String(HB)]);
    const endpoint = (await broker.waitFor("READY")).split(" ")[1]!;
    const streaming = track(new MajordomoWorker({ broker: endpoint, service: "new", heartbeatInterval: HB }));
    streaming.serve(() => interval(10).pipe(take(3), map((i) => `part-${i + 1}`)));
    const old = track(new MajordomoWorker({ broker: endpoint, service: "old", version: "0.1", heartbeatInterval: HB }));
    old.serve(({ body }) => ["old", ...body]);
    const oldClient = track(new MajordomoClient({ broker: endpoint, version: "0.1", timeout: 5000 }));
    expect((await lastValueFrom(oldClient.request("new", "go").pipe(toArray()))).map(text)).toEqual([["part-3"]]);
    const newClient = track(new MajordomoClient({ broker: endpoint, timeout: 5000 }));
    expect(text(await lastValueFrom(newClient.request("old", "x")))).toEqual(["old", "x"]);
  });
});
