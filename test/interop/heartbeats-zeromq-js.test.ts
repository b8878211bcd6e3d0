/**
 * Heartbeats against real libzmq (4.3.5 through the zeromq.js package),
 * over tcp. These run in real time on purpose: what is tested is a real
 * process that stops answering, and libzmq's own timers. The intervals are
 * kept short (100-400 ms) and the bounds generous.
 *
 *  - A Privateer socket with heartbeatInterval/heartbeatTimeout detects a
 *    libzmq peer whose whole process was paused (SIGSTOP): its I/O thread
 *    stops answering PINGs, so the connection is dropped with
 *    heartbeat-timeout.
 *  - The heartbeatTimeToLive a Privateer socket announces in its PINGs is
 *    honoured by a libzmq peer that has no heartbeats of its own: libzmq
 *    drops the connection once that long has passed without traffic.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as zmq from "zeromq";
import { Dealer, Router } from "../../src";
import { bindAddress, closeAll, nextEvent } from "../helpers/endpoints";

const ROOT = path.resolve(__dirname, "../..");

describe("heartbeats against libzmq", () => {
  let router: Router | undefined;
  let dealer: Dealer | undefined;
  let child: ChildProcess | undefined;
  let libzmq: zmq.Router | undefined;

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
    child = undefined;
    closeAll(router, dealer);
    if (libzmq && !libzmq.closed) {
      libzmq.linger = 0;
      libzmq.close();
    }
  });

  it("a Privateer ROUTER drops a libzmq DEALER whose process was SIGSTOPped, after about heartbeatTimeout", async () => {
    router = new Router({ heartbeatInterval: 100, heartbeatTimeout: 300 });
    await router.bind(bindAddress("tcp"));
    const script = `
      const zmq = require("zeromq");
      const dealer = new zmq.Dealer({ routingId: "paused" });
      dealer.connect(${JSON.stringify(router.lastEndpoint)});
      dealer.send("ready").then(() => process.stdout.write("sent\\n"));
      setInterval(() => {}, 1000);
    `;
    child = spawn(process.execPath, ["-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    expect((await router.receive()).map(String)).toEqual(["paused", "ready"]);

    const dropped = nextEvent(router, "disconnect", 5000);
    const stoppedAt = Date.now();
    child.kill("SIGSTOP");
    const event = await dropped;
    const elapsed = Date.now() - stoppedAt;
    expect(event.error).toMatchObject({ reason: "heartbeat-timeout" });
    // The next PING leaves within 100 ms and goes unanswered for 300 ms.
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);

    child.kill("SIGCONT");
    child.kill("SIGKILL");
  });

  it("a libzmq ROUTER without heartbeats honours the TTL in a Privateer DEALER's PINGs", async () => {
    libzmq = new zmq.Router();
    await libzmq.bind("tcp://127.0.0.1:*");
    const libzmqDropped = new Promise<void>((resolve) => libzmq!.events.on("disconnect", () => resolve()));
    // PING every 400 ms asking for a TTL of 100 ms: libzmq gives up 100 ms
    // after each PING, long before the next one.
    dealer = new Dealer({ routingId: "ttl", heartbeatInterval: 400, heartbeatTimeToLive: 100, reconnectInterval: -1 });
    const up = nextEvent(dealer, "handshake");
    dealer.connect(libzmq.lastEndpoint!);
    await up;
    await dealer.send("hello");
    const [id, body] = await libzmq.receive();
    expect([id!.toString(), body!.toString()]).toEqual(["ttl", "hello"]);

    const connectedAt = Date.now();
    const dropped = nextEvent(dealer, "disconnect", 5000);
    const event = await dropped;
    const elapsed = Date.now() - connectedAt;
    await libzmqDropped;
    // Dropped by libzmq, not by our own heartbeat timeout (libzmq answers
    // PINGs). With a TTL longer than the interval the same pair stays up: see
    // test/interop/zeromq-js.test.ts, "heartbeats against libzmq".
    expect((event.error as { reason?: string } | undefined)?.reason).not.toBe("heartbeat-timeout");
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(3000);
  });
});
