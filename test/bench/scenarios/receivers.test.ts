/**
 * The Node receiver roles, run in this process against real Privateer
 * sockets: each fails on a message of the wrong size (the scenario's `size`
 * and `expect` disagree, as BENCH_FAULT=size makes them) and, given the
 * right size, reports the bytes it received.
 */
import { loadLib, type BenchLib, type BenchSender } from "../../../bench/harness/lib";
import { WrongSizeError } from "../../../bench/harness/loops";
import type { PeerLine, Scalar } from "../../../bench/harness/protocol";
import type { Role, RoleContext } from "../../../bench/harness/role";
import { roles as dealerRouter } from "../../../bench/scenarios/dealer-router-echo";
import { roles as inproc } from "../../../bench/scenarios/inproc-push-pull";
import { roles as pubSub } from "../../../bench/scenarios/pub-sub-fanout";
import { roles as pushPull } from "../../../bench/scenarios/push-pull-tcp";
import { roles as reqRep } from "../../../bench/scenarios/req-rep-latency";

let lib: BenchLib;
beforeAll(async () => {
  lib = await loadLib("privateer");
});

/** Short windows; the watchdogs' stall limit is far above any pause a loaded machine makes. */
const WINDOW = { warmup: 0, window: 100, max: 1_000_000, stall: 15_000, limit: 10_000 };

interface Running {
  /** Settles when the role returns or throws. */
  done: Promise<void>;
  /** The role's first "ready" line (the endpoint it bound). */
  ready: Promise<PeerLine>;
  lines: PeerLine[];
}

function start(role: Role, params: Record<string, Scalar>): Running {
  const lines: PeerLine[] = [];
  let announce!: (line: PeerLine) => void;
  const ready = new Promise<PeerLine>((resolve) => (announce = resolve));
  const ctx: RoleContext = {
    lib: () => lib,
    num: (key, fallback) => {
      const value = params[key];
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== "number") throw new Error(`test gave no numeric ${key}`);
      return value;
    },
    str: (key) => String(params[key]),
    emit: (event, fields = {}) => {
      const line = { event, ...fields };
      lines.push(line);
      if (event === "ready") announce(line);
    },
    command: async () => undefined,
  };
  return { done: role(ctx), ready, lines };
}

/** Sends `body` until `until` settles, then closes the socket (a send parked on a full pipe then rejects). */
async function feed(socket: BenchSender, body: Buffer, until: Promise<unknown>): Promise<void> {
  let stop = false;
  const finished = until.then(
    () => (stop = true),
    () => (stop = true),
  );
  const loop = (async () => {
    for (let n = 1; !stop; n++) {
      await socket.send(body);
      // Let I/O run: a send that completes at once would never let the receiver's process read.
      if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })().catch(() => undefined);
  await finished;
  socket.close();
  await loop;
}

function result(running: Running): PeerLine {
  const line = running.lines.find((l) => l.event === "result");
  if (!line) throw new Error("the role emitted no result");
  return line;
}


describe.each([
  ["a message of the expected size", 16],
  ["a message one byte too long", 17],
])("bench receivers given %s", (_name, size) => {
  const wrong = size !== 16;

  async function outcome(running: Running): Promise<void> {
    if (wrong) {
      await expect(running.done).rejects.toThrow(WrongSizeError);
      expect(running.lines.find((l) => l.event === "result")).toBeUndefined();
    } else {
      await running.done;
      const line = result(running);
      expect(line.count).toBeGreaterThan(0);
      expect(line.bytes).toBe((line.count as number) * 16);
    }
  }

  it("pull-recv (PUSH to PULL, tcp)", async () => {
    const running = start(pushPull["pull-recv"]!, { ...WINDOW, expect: 16 });
    const push = new lib.Push({ linger: 0 });
    push.connect(String((await running.ready).endpoint));
    await Promise.all([feed(push, Buffer.alloc(size, 0x5a), running.done), outcome(running)]);
  });

  it("inproc-pushpull (sender and receiver in the role)", async () => {
    await outcome(start(inproc["inproc-pushpull"]!, { ...WINDOW, size, expect: 16 }));
  });

  it("sub-count (10 SUB sockets)", async () => {
    const pub = new lib.Publisher({ linger: 0 });
    await pub.bind("tcp://127.0.0.1:*");
    const running = start(pubSub["sub-count"]!, { ...WINDOW, endpoint: pub.lastEndpoint!, subs: 10, expect: 16 });
    await Promise.all([feed(pub, Buffer.alloc(size, 0x5a), running.done), outcome(running)]);
  });

  it("dealer-flight (replies echoed by a ROUTER)", async () => {
    const router = new lib.Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    const echo = (async () => {
      for (;;) await router.send(await router.receive());
    })().catch(() => undefined);
    const running = start(dealerRouter["dealer-flight"]!, { ...WINDOW, endpoint: router.lastEndpoint!, size, expect: 16, inflight: 10 });
    await outcome(running);
    router.close();
    await echo;
  });

  it("req-rtt (replies echoed by a REP)", async () => {
    const rep = new lib.Reply({ linger: 0 });
    await rep.bind("tcp://127.0.0.1:*");
    const echo = (async () => {
      for (;;) await rep.send(await rep.receive());
    })().catch(() => undefined);
    const running = start(reqRep["req-rtt"]!, { ...WINDOW, endpoint: rep.lastEndpoint!, size, expect: 16, max: 100_000 });
    await outcome(running);
    rep.close();
    await echo;
  });
});
