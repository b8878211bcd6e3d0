import { filter, firstValueFrom, lastValueFrom } from "rxjs";
import { Dealer } from "../../../src";
import {
  decodeClientCommand,
  encodeClientCommand,
  MajordomoAsyncClient,
  MajordomoBroker,
  MajordomoClient,
  MajordomoError,
  MajordomoWorker,
} from "privateer/internal";
import { nextBrokerEvents, startBroker as startBrokerWith, Tracker } from "./e2e";
import { PythonPeers } from "../../helpers/python";
import { describeIfPeer, PYZMQ } from "../../helpers/prerequisites";

// Outside CI, skipped when pyzmq is missing (npm test lists it at the end); under CI, run regardless.
const describeWithPyzmq = describeIfPeer(PYZMQ);

const HB = 100;
const peers = new PythonPeers();
const tracker = new Tracker();
const track = <T extends { close(): unknown }>(thing: T): T => tracker.track(thing);
const startBroker = (options: ConstructorParameters<typeof MajordomoBroker>[0] = {}) =>
  startBrokerWith(tracker, { heartbeatInterval: HB, ...options });

afterEach(async () => {
  await tracker.closeAll();
  await peers.killAll();
});

describeWithPyzmq("a worker killed mid-request", () => {
  it("has its request answered by another worker, and exactly one reply reaches the client", async () => {
    const { broker, endpoint } = await startBroker();
    const firstReady = nextBrokerEvents(broker, "worker-ready");
    const doomed = peers.start("mdp_worker.py", [endpoint, "0.2", "echo", "--heartbeat", String(HB), "--hang"]);
    await firstReady;

    // A bare DEALER as the client, so every message the broker sends it is seen.
    const client = track(new Dealer({ linger: 0 }));
    client.connect(endpoint);
    await client.send(encodeClientCommand("0.2", { type: "request", service: "echo", body: [Buffer.from("job-1")] }));
    await doomed.waitFor("REQUEST");

    const handled: string[] = [];
    const secondReady = nextBrokerEvents(broker, "worker-ready");
    const survivor = track(new MajordomoWorker({ broker: endpoint, service: "echo", heartbeatInterval: HB }));
    survivor.serve(({ body }) => {
      handled.push(body[0]!.toString());
      return ["done", ...body];
    });
    await secondReady;
    const requeued = nextBrokerEvents(broker, "request-requeued");
    await doomed.kill("SIGKILL");
    expect((await requeued)[0]!.service).toBe("echo");

    const reply = decodeClientCommand(await client.receive(), "reply");
    expect(reply.command).toEqual({ type: "final", service: "echo", body: [Buffer.from("done"), Buffer.from("job-1")] });
    expect(handled).toEqual(["job-1"]);
    // The next thing the client receives is the answer to its next request, not a second reply to the first.
    await client.send(encodeClientCommand("0.2", { type: "request", service: "mmi.service", body: [Buffer.from("echo")] }));
    expect(decodeClientCommand(await client.receive(), "reply").command).toEqual({
      type: "final",
      service: "mmi.service",
      body: [Buffer.from("200")],
    });
  });
});

describe("load sharing", () => {
  it("spreads concurrent requests over 4 workers, each getting work", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 4);
    const handledBy = new Map<number, number>();
    for (let n = 0; n < 4; n++) {
      const worker = track(new MajordomoWorker({ broker: endpoint, service: "work", heartbeatInterval: HB }));
      worker.serve(async ({ body }) => {
        handledBy.set(n, (handledBy.get(n) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return body;
      });
    }
    await ready;
    const clients = Array.from({ length: 8 }, () => track(new MajordomoClient({ broker: endpoint, timeout: 5000 })));
    const replies = await Promise.all(clients.map((c, i) => lastValueFrom(c.request("work", `r${i}`))));
    expect(replies.map((r) => r.toString())).toEqual(clients.map((_, i) => `r${i}`));
    expect([...handledBy.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect([...handledBy.values()].reduce((a, b) => a + b, 0)).toBe(8);
  });

  it("a worker with concurrency 3 registers three sockets", async () => {
    const { broker, endpoint } = await startBroker();
    const ready = nextBrokerEvents(broker, "worker-ready", 3);
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "multi", heartbeatInterval: HB, concurrency: 3 }));
    worker.serve(({ body }) => body);
    expect(new Set((await ready).map((e) => (e as { worker: string }).worker)).size).toBe(3);
    expect(broker.services()).toEqual([{ name: "multi", workers: 3, idle: 3, queued: 0 }]);
  });
});

describe("request expiry end to end", () => {
  it("a 0.2 client gets a typed service-unavailable error when no worker registers in time", async () => {
    const { endpoint } = await startBroker({ requestTimeout: 200 });
    const client = track(new MajordomoAsyncClient({ broker: endpoint, timeout: 5000 }));
    const error = await lastValueFrom(client.request("ghost", "x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MajordomoError);
    expect((error as MajordomoError).reason).toBe("service-unavailable");
    expect(await client.serviceAvailable("ghost")).toBe(false);
  });

  it("a request sent before its worker starts is queued and answered", async () => {
    const { broker, endpoint } = await startBroker();
    const client = track(new MajordomoClient({ broker: endpoint, timeout: 5000 }));
    const queued = nextBrokerEvents(broker, "request-queued");
    const answer = lastValueFrom(client.request("late", "hello"));
    await queued;
    const worker = track(new MajordomoWorker({ broker: endpoint, service: "late", heartbeatInterval: HB }));
    worker.serve(({ body }) => body);
    expect((await answer).toString()).toBe("hello");
  });
});

describe("broker restart", () => {
  it("workers re-register with a new broker on the same endpoint", async () => {
    const first = await startBroker({ linger: 200 });
    const ready = nextBrokerEvents(first.broker, "worker-ready");
    const worker = track(new MajordomoWorker({ broker: first.endpoint, service: "svc", heartbeatInterval: HB, reconnectInterval: HB }));
    const rejoined = firstValueFrom(worker.events$.pipe(filter((e) => e.type === "ready" && e.attempt === 2)));
    worker.serve(({ body }) => body);
    await ready;
    await first.broker.close();
    await rejoined;
    const second = track(new MajordomoBroker({ heartbeatInterval: HB, linger: 0 }));
    const readyAgain = nextBrokerEvents(second, "worker-ready");
    // close() resolved after the socket's "close" event, which comes only once its listener let go of the port.
    await second.bind(first.endpoint);
    await readyAgain;
    const client = track(new MajordomoClient({ broker: first.endpoint, timeout: 5000 }));
    expect((await lastValueFrom(client.request("svc", "again"))).toString()).toBe("again");
  });
});
