/**
 * The CURVE benchmark roles (bench/scenarios/curve.ts), run in this process
 * against Privateer sockets over CURVE: they deliver and count, fail on a
 * message of the wrong size, and refuse a socket that did not take its CURVE
 * options (checked for both libraries, since zeromq.js reads them back
 * differently).
 */
import * as zmq from "zeromq";
import { curveKeyPair } from "../../../src";
import { loadLib, type BenchLib, type BenchReceiver, type BenchSender } from "../../../bench/harness/lib";
import { WrongSizeError } from "../../../bench/harness/loops";
import type { PeerLine, Scalar } from "../../../bench/harness/protocol";
import type { Role, RoleContext } from "../../../bench/harness/role";
import { assertCurve, roles, type CurveReadBack } from "../../../bench/scenarios/curve";

let lib: BenchLib;
beforeAll(async () => {
  lib = await loadLib("privateer");
});

const WINDOW = { warmup: 0, window: 100, max: 1_000_000, stall: 15_000, limit: 10_000 };

function keys(): Record<string, string> {
  const server = curveKeyPair();
  const client = curveKeyPair();
  return {
    serverPublic: server.publicKey,
    serverSecret: server.secretKey,
    clientPublic: client.publicKey,
    clientSecret: client.secretKey,
  };
}

function context(params: Record<string, Scalar>, lines: PeerLine[], onReady: (line: PeerLine) => void): RoleContext {
  return {
    lib: () => lib,
    num: (key, fallback) => {
      const value = params[key];
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== "number") throw new Error(`test gave no numeric ${key}`);
      return value;
    },
    str: (key) => {
      const value = params[key];
      if (typeof value !== "string") throw new Error(`test gave no ${key}`);
      return value;
    },
    emit: (event, fields = {}) => {
      const line = { event, ...fields };
      lines.push(line);
      if (event === "ready") onReady(line);
    },
    command: async () => undefined,
  };
}

interface Running {
  done: Promise<void>;
  ready: Promise<PeerLine>;
  lines: PeerLine[];
}

function start(role: Role, params: Record<string, Scalar>): Running {
  const lines: PeerLine[] = [];
  let announce!: (line: PeerLine) => void;
  const ready = new Promise<PeerLine>((resolve) => (announce = resolve));
  return { done: role(context(params, lines, announce)), ready, lines };
}

/** Sends until `until` settles, then closes the socket. */
async function feed(socket: BenchSender, body: Buffer, until: Promise<unknown>): Promise<void> {
  let stop = false;
  const finished = until.then(
    () => (stop = true),
    () => (stop = true),
  );
  const loop = (async () => {
    for (let n = 1; !stop; n++) {
      await socket.send(body);
      if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })().catch(() => undefined);
  await finished;
  socket.close();
  await loop;
}

type CurveSocketCtor = new (options: Record<string, unknown>) => BenchSender & CurveReadBack;

describe.each([
  ["a message of the expected size", 16],
  ["a message one byte too long", 17],
])("CURVE bench roles given %s", (_name, size) => {
  const wrong = size !== 16;

  async function outcome(done: Promise<void>, lines: PeerLine[]): Promise<void> {
    if (wrong) {
      await expect(done).rejects.toThrow(WrongSizeError);
      expect(lines.find((l) => l.event === "result")).toBeUndefined();
    } else {
      await done;
      const line = lines.find((l) => l.event === "result");
      expect(line?.count).toBeGreaterThan(0);
      expect(line?.bytes).toBe((line!.count as number) * 16);
    }
  }

  it("curve-pull-recv (a CURVE client PUSH to the role's CURVE server PULL)", async () => {
    const k = keys();
    const running = start(roles["curve-pull-recv"]!, { ...WINDOW, ...k, expect: 16 });
    const Push = lib.Push as unknown as CurveSocketCtor;
    const push = new Push({
      linger: 0,
      curveServerKey: k.serverPublic,
      curvePublicKey: k.clientPublic,
      curveSecretKey: k.clientSecret,
    });
    push.connect(String((await running.ready).endpoint));
    await Promise.all([feed(push, Buffer.alloc(size, 0x5a), running.done), outcome(running.done, running.lines)]);
    if (!wrong) {
      // CPU per message over the window: positive, and far below a second.
      const cpuUs = running.lines.find((l) => l.event === "result")?.cpuUs;
      expect(cpuUs).toBeGreaterThan(0);
      expect(cpuUs).toBeLessThan(1_000_000);
    }
  });

  it("curve-req-rtt (replies echoed by a CURVE server REP)", async () => {
    const k = keys();
    const Reply = lib.Reply as unknown as new (options: Record<string, unknown>) => BenchSender & BenchReceiver;
    const rep = new Reply({ linger: 0, curveServer: true, curveSecretKey: k.serverSecret });
    await rep.bind("tcp://127.0.0.1:*");
    const echo = (async () => {
      for (;;) await rep.send(await rep.receive());
    })().catch(() => undefined);
    const params = { ...WINDOW, ...k, endpoint: rep.lastEndpoint!, size, expect: 16, max: 100_000 };
    const running = start(roles["curve-req-rtt"]!, params);
    await outcome(running.done, running.lines);
    rep.close();
    await echo;
  });
});

describe("assertCurve: a socket that did not take its CURVE options fails the role", () => {
  const k = keys();
  const ctx = context(k, [], () => undefined);
  const server = { curveServer: true, curveSecretKey: k.serverSecret, curvePublicKey: k.serverPublic };
  const client = { curveServerKey: k.serverPublic, curvePublicKey: k.clientPublic, curveSecretKey: k.clientSecret };

  it.each([
    ["privateer", () => lib.Pull as unknown as CurveSocketCtor, () => lib.Push as unknown as CurveSocketCtor],
    ["zeromq.js", () => zmq.Pull as unknown as CurveSocketCtor, () => zmq.Push as unknown as CurveSocketCtor],
  ])("%s: configured sockets pass; unconfigured or mis-roled ones throw", (_name, pullCtor, pushCtor) => {
    const sockets: Array<BenchSender & CurveReadBack> = [];
    const make = (ctor: CurveSocketCtor, options: Record<string, unknown>): BenchSender & CurveReadBack => {
      const socket = new ctor({ linger: 0, ...options });
      sockets.push(socket);
      return socket;
    };
    try {
      expect(() => assertCurve(make(pullCtor(), server), ctx, true)).not.toThrow();
      expect(() => assertCurve(make(pushCtor(), client), ctx, false)).not.toThrow();
      // Controls: NULL sockets, and a server checked as a client (or the other way round).
      expect(() => assertCurve(make(pullCtor(), {}), ctx, true)).toThrow(/server socket did not take its CURVE options/);
      expect(() => assertCurve(make(pushCtor(), {}), ctx, false)).toThrow(/client socket did not take its CURVE options/);
      expect(() => assertCurve(make(pullCtor(), server), ctx, false)).toThrow(/did not take/);
      expect(() => assertCurve(make(pushCtor(), client), ctx, true)).toThrow(/did not take/);
    } finally {
      for (const socket of sockets) socket.close();
    }
  });
});
