import { filter, firstValueFrom, timeout } from "rxjs";
import { PrivateerError, Pull, Push, type SocketBase } from "../../../src";
import { carrierSettings } from "../../../src/transport/threads/registry";
import { RemoteThread } from "./remote";

/**
 * What threads coming and going look like over inproc: a terminated worker
 * is a disconnected peer (and a connect reconnects to the next thread that
 * binds the name), high-water marks block across the boundary, and a
 * worker whose sockets are closed exits by itself.
 */

let counter = 0;
const fresh = (): string => `inproc://lifecycle-${process.pid}-${++counter}`;

const threads: RemoteThread[] = [];
const sockets: SocketBase[] = [];
function spawn(): RemoteThread {
  const thread = new RemoteThread();
  threads.push(thread);
  return thread;
}
function track<T extends SocketBase>(socket: T): T {
  sockets.push(socket);
  return socket;
}
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(threads.splice(0).map((thread) => thread.terminate()));
});

function nextDisconnect(socket: SocketBase, ms = 5000): Promise<unknown> {
  return firstValueFrom(socket.events$.pipe(filter((event) => event.type === "disconnect"), timeout(ms)));
}

/** Whether `promise` is still pending once `thread` has answered a round trip (so it had its chance to act). */
async function pendingAfterRoundTrip(promise: Promise<unknown>, thread: RemoteThread): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await thread.call({ op: "events", socket: 0 });
  await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

describe.each([
  ["a MessagePort (its close event)", true],
  ["the BroadcastChannel fallback (the life probe)", false],
])("a worker thread terminated mid-stream, connection over %s", (_carrier, portHandover) => {
  /** Starts a worker whose connects use the carrier under test. */
  async function spawnReady(): Promise<RemoteThread> {
    const thread = spawn();
    await thread.ready;
    await thread.call({ op: "portHandover", enabled: portHandover });
    return thread;
  }
  beforeAll(() => {
    carrierSettings.portHandover = portHandover;
  });
  afterAll(() => {
    carrierSettings.portHandover = true;
  });

  it("is a disconnect to the binding side, which then serves the next thread that connects", async () => {
    const address = fresh();
    const pull = track(new Pull());
    await pull.bind(address);
    const first = await spawnReady();
    const push = await first.open("PUSH");
    await push.connect(address);
    // Far more than the high-water marks hold: the worker is blocked sending when it dies.
    void push.sendMany(1_000_000, "a").catch(() => undefined);
    for (let i = 0; i < 100; i++) expect(await pull.receive()).toEqual([Buffer.from(`a${i}`)]);

    const disconnected = nextDisconnect(pull);
    await first.terminate();
    await disconnected;

    const second = await spawnReady();
    const next = await second.open("PUSH");
    await next.connect(address);
    await next.send("from the second thread");
    // The first thread's messages already in this thread stay readable; then the second's arrive.
    for (;;) {
      const [frame] = await pull.receive();
      if (String(frame) === "from the second thread") break;
      expect(String(frame)).toMatch(/^a\d+$/);
    }
  });

  it("is a disconnect to the connecting side, which reconnects to the next thread binding the name", async () => {
    const address = fresh();
    const first = await spawnReady();
    const pull = await first.open("PULL");
    await pull.bind(address);
    const push = track(new Push({ sendTimeout: 10_000 }));
    push.connect(address);
    await push.send("before");
    expect(await pull.receive()).toEqual(["before"]);

    const disconnected = nextDisconnect(push);
    await first.terminate();
    await disconnected;

    // Nobody is bound now: the send waits, and goes to the new thread once it binds.
    const sent = push.send("after");
    const second = await spawnReady();
    const again = await second.open("PULL");
    await again.bind(address);
    await sent;
    expect(await again.receive()).toEqual(["after"]);
  });
});

describe("a worker thread busy computing", () => {
  afterAll(() => {
    carrierSettings.portHandover = true;
  });

  it("control: is not taken for gone, however many probes it misses answering", async () => {
    // Over the BroadcastChannel only the life probe can end the link, so a probe that took
    // silence for death (as a heartbeat timeout would) fails this test.
    carrierSettings.portHandover = false;
    const address = fresh();
    const pull = track(new Pull());
    await pull.bind(address);
    const thread = spawn();
    await thread.ready;
    await thread.call({ op: "portHandover", enabled: false });
    const push = await thread.open("PUSH");
    await push.connect(address);
    await push.send("before");
    expect(await pull.receive()).toEqual([Buffer.from("before")]);
    const seen: string[] = [];
    const subscription = pull.events$.subscribe((event) => seen.push(event.type));
    await thread.call({ op: "spin", ms: 2000 });
    await push.send("after");
    expect(await pull.receive()).toEqual([Buffer.from("after")]);
    subscription.unsubscribe();
    expect(seen).not.toContain("disconnect");
  });
});

describe("high-water marks across threads", () => {
  it("a PUSH blocks after its send mark plus the peer's receive mark, and resumes as the peer reads", async () => {
    const SEND_HWM = 5;
    const RECEIVE_HWM = 8;
    const address = fresh();
    const thread = spawn();
    await thread.ready;
    const pull = await thread.open("PULL", { receiveHighWaterMark: RECEIVE_HWM });
    await pull.bind(address);
    const push = track(new Push({ sendHighWaterMark: SEND_HWM, sendTimeout: 300 }));
    push.connect(address);

    let accepted = 0;
    for (;;) {
      const error = await push.send(`m${accepted}`).then(
        () => undefined,
        (failure: PrivateerError) => failure,
      );
      if (error) {
        expect(error.code).toBe("EAGAIN");
        break;
      }
      accepted++;
      if (accepted > 1000) break;
    }
    expect(accepted).toBe(SEND_HWM + RECEIVE_HWM);

    // A blocked send stays blocked while the reader has not read enough to grant credit back...
    push.sendTimeout = -1;
    const blocked = push.send("extra");
    expect(await pendingAfterRoundTrip(blocked, thread)).toBe(true);
    // ...and goes through once it has read half its window (libzmq's low-water mark).
    for (let i = 0; i < RECEIVE_HWM / 2; i++) expect(await pull.receive()).toEqual([`m${i}`]);
    await blocked;
    for (let i = RECEIVE_HWM / 2; i < SEND_HWM + RECEIVE_HWM; i++) expect(await pull.receive()).toEqual([`m${i}`]);
    expect(await pull.receive()).toEqual(["extra"]);
  });

  it("control: with no receive mark on the reader, the same sends never block", async () => {
    const address = fresh();
    const thread = spawn();
    await thread.ready;
    const pull = await thread.open("PULL", { receiveHighWaterMark: 0 });
    await pull.bind(address);
    const push = track(new Push({ sendHighWaterMark: 5, sendTimeout: 300 }));
    push.connect(address);
    for (let i = 0; i < 200; i++) await push.send(`m${i}`);
    expect(await pull.receive()).toEqual(["m0"]);
  });
});

describe("a worker whose sockets are closed", () => {
  async function exchange(thread: RemoteThread, workerBinds: boolean): Promise<number> {
    const address = fresh();
    const pull = track(new Pull());
    const push = await thread.open("PUSH");
    if (workerBinds) {
      await push.bind(address);
      pull.connect(address);
    } else {
      await pull.bind(address);
      await push.connect(address);
    }
    await push.send("hello");
    expect(await pull.receive()).toEqual([Buffer.from("hello")]);
    return push.id;
  }

  it.each([
    ["connected", false],
    ["bound", true],
  ])("exits by itself (%s socket)", async (_label, workerBinds) => {
    const thread = spawn();
    await thread.ready;
    const socket = await exchange(thread, workerBinds);
    await thread.call({ op: "close", socket });
    await thread.call({ op: "release" });
    const code = await Promise.race([thread.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 5000))]);
    expect(code).toBe(0);
  });

  it.each([
    ["connected", false],
    ["bound", true],
  ])("control: stays alive while its %s socket is open", async (_label, workerBinds) => {
    const thread = spawn();
    await thread.ready;
    await exchange(thread, workerBinds);
    await thread.call({ op: "release" });
    const code = await Promise.race([thread.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 1000))]);
    expect(code).toBe("still running");
  });
});
