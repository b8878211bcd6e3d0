/**
 * The C peer (bench/native/peer.c) against real Privateer sockets: its
 * receivers fail on a message of the wrong size, as the Node roles do, and
 * report the bytes they received. Needs a C compiler and libzmq's headers;
 * without them the suite is skipped outside CI (and listed at the end of the
 * run), and fails under CI.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLib, type BenchLib, type BenchSender } from "../../../bench/harness/lib";
import { buildNative, type NativeBuild } from "../../../bench/harness/native";
import { PeerProcess } from "../../../bench/harness/peer-process";
import { encodeParams, type PeerLine, type Scalar } from "../../../bench/harness/protocol";
import { describeIfPeer, type Peer } from "../../helpers/prerequisites";

const ROOT = join(__dirname, "..", "..", "..");
const outDir = mkdtempSync(join(tmpdir(), "privateer-native-peer-"));
let build: NativeBuild | undefined;

const LIBZMQ_DEV: Peer = {
  name: "libzmq3-dev",
  // Building is the probe: it needs exactly what the suite needs (cc, zmq.h, -lzmq).
  probe() {
    build = buildNative(ROOT, outDir);
    return "skipped" in build ? build.skipped : null;
  },
  install: { debian: "apt-get install -y libzmq3-dev gcc", macos: "brew install zeromq" },
};

const WINDOW = { warmup: 0, window: 100, max: 1_000_000, stall: 15_000, limit: 10_000 };
const TIMEOUT_MS = 15_000;

let lib: BenchLib;
const peers: PeerProcess[] = [];

function spawnNative(role: string, params: Record<string, Scalar>): PeerProcess {
  if (!build || "skipped" in build) throw new Error("native peer not built");
  const peer = new PeerProcess(`libzmq/${role}`, build.binary, [role, ...encodeParams(params)]);
  peers.push(peer);
  return peer;
}

/** Sends `body` until `until` settles, then closes the socket. */
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

/** Echoes every message until the socket is closed. */
function echo(socket: BenchSender & { receive(): Promise<Buffer[]> }): Promise<void> {
  return (async () => {
    for (;;) await socket.send(await socket.receive());
  })().catch(() => undefined);
}

describeIfPeer(LIBZMQ_DEV)("native bench peer", () => {
  beforeAll(async () => {
    lib = await loadLib("privateer");
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  describe.each([
    ["a message of the expected size", 16],
    ["a message one byte too long", 17],
  ])("given %s", (_name, size) => {
    /** The result line when the size is right; the peer's error when it is not. */
    async function outcome(result: Promise<PeerLine>, who: string): Promise<void> {
      const error = new RegExp(`${who}: received a message of 17 bytes, expected 16`);
      if (size === 16) {
        const line = await result;
        expect(line.count).toBeGreaterThan(0);
        expect(line.bytes).toBe((line.count as number) * 16);
      } else {
        await expect(result).rejects.toThrow(error);
      }
    }

    it("pull-recv", async () => {
      const peer = spawnNative("pull-recv", { ...WINDOW, expect: 16 });
      const push = new lib.Push({ linger: 0 });
      push.connect(String((await peer.next("ready", TIMEOUT_MS)).endpoint));
      const result = peer.next("result", TIMEOUT_MS);
      await Promise.all([feed(push, Buffer.alloc(size, 0x5a), result), outcome(result, "receiver")]);
    });

    it("inproc-pushpull", async () => {
      await outcome(spawnNative("inproc-pushpull", { ...WINDOW, size, expect: 16 }).next("result", TIMEOUT_MS), "receiver");
    });

    it("sub-count", async () => {
      const pub = new lib.Publisher({ linger: 0 });
      await pub.bind("tcp://127.0.0.1:*");
      const result = spawnNative("sub-count", { ...WINDOW, endpoint: pub.lastEndpoint!, subs: 10, expect: 16 }).next("result", TIMEOUT_MS);
      await Promise.all([feed(pub, Buffer.alloc(size, 0x5a), result), outcome(result, "subscriber \\d+")]);
    });

    it("dealer-flight", async () => {
      const router = new lib.Router({ linger: 0 });
      await router.bind("tcp://127.0.0.1:*");
      const echoing = echo(router);
      const peer = spawnNative("dealer-flight", { ...WINDOW, endpoint: router.lastEndpoint!, size, expect: 16, inflight: 10 });
      await outcome(peer.next("result", TIMEOUT_MS), "dealer-flight");
      router.close();
      await echoing;
    });

    it("req-rtt", async () => {
      const rep = new lib.Reply({ linger: 0 });
      await rep.bind("tcp://127.0.0.1:*");
      const echoing = echo(rep);
      const peer = spawnNative("req-rtt", { ...WINDOW, endpoint: rep.lastEndpoint!, size, expect: 16, max: 100_000 });
      await outcome(peer.next("result", TIMEOUT_MS), "req-rtt");
      rep.close();
      await echoing;
    });
  });
});
