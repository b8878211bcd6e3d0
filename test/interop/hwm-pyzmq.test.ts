/**
 * High-water marks against libzmq 4.3.4 (through pyzmq), over tcp and ipc:
 * backpressure has to cross the implementation boundary in both directions,
 * and a publisher has to drop rather than stall.
 *
 *  - A Privateer PUSH (sndhwm 10) to a libzmq PULL (rcvhwm 10) that does not
 *    read stops accepting sends after a bounded number; once libzmq reads,
 *    everything arrives in order and the waiting send goes through.
 *  - A libzmq PUSH to a Privateer PULL (rcvhwm 10) that does not read gets
 *    EAGAIN from ZMQ_DONTWAIT sends and stays blocked: Privateer stops reading
 *    the connection, so libzmq sees a full path. Reading releases it in order.
 *  - A Privateer PUB (sndhwm 10) to a libzmq SUB that does not read: bursts
 *    never wait, the excess is dropped, and what arrives is an increasing
 *    subsequence of whole multipart messages.
 */
import { Publisher, Pull, Push, SocketBase } from "../../src";
import { bindAddress, closeAll, nextEvent } from "../helpers/endpoints";
import { PyzmqDriver, type PyzmqSocket } from "./helpers/pyzmq-driver";
import { nextTurn } from "../helpers/clock";
import { sendUntilStalled } from "../parity/support";
import { describeIfPeer, PYZMQ } from "../helpers/prerequisites";

// Outside CI, skipped when pyzmq is missing (npm test lists it at the end); under CI, run regardless.
const describeWithPyzmq = describeIfPeer(PYZMQ);

const HWM = 10;
const SIZE = 16 * 1024;
/*
 * What the path between the two queues can hold: here loopback tcp buffers
 * grow to 32 MiB (tcp_rmem) on the receiving side plus 4 MiB (tcp_wmem) on
 * the sending side; 64 MiB leaves room for both marks and user-space
 * batches. Exceeding it means a mark is not holding.
 */
const PATH_BOUND = (64 * 1024 * 1024) / SIZE;

function payload(i: number): Buffer {
  const body = Buffer.alloc(SIZE, i % 251);
  body.writeUInt32BE(i, 0);
  return body;
}

function checkPayload(frame: Buffer | undefined, i: number): void {
  expect(frame?.length).toBe(SIZE);
  expect(frame!.readUInt32BE(0)).toBe(i);
  expect(frame![SIZE - 1]).toBe(i % 251);
}

describeWithPyzmq.each(["tcp", "ipc"] as const)("high-water marks against pyzmq over %s", (transport) => {
  let driver: PyzmqDriver | undefined;
  let ours: SocketBase | undefined;
  let theirs: PyzmqSocket | undefined;

  beforeAll(async () => {
    driver = await PyzmqDriver.start();
  }, 30000);
  afterEach(async () => {
    closeAll(ours);
    ours = undefined;
    // The driver also removes the ipc file of a socket it bound.
    await theirs?.close().catch(() => undefined);
    theirs = undefined;
  });
  afterAll(async () => {
    await driver?.close();
  });

  const pyzmq = (): PyzmqDriver => {
    if (!driver) throw new Error("the pyzmq driver did not start");
    return driver;
  };

  it("a Privateer PUSH stalls against a pyzmq PULL that does not read, then resumes in order", async () => {
    const pull = await pyzmq().socket("PULL", { rcvhwm: HWM });
    theirs = pull;
    const push = new Push({ sendHighWaterMark: HWM });
    ours = push;
    const up = nextEvent(push, "handshake");
    push.connect(await pull.bind(bindAddress(transport)));
    await up;

    const accepted = await sendUntilStalled(push, payload, { max: PATH_BOUND });
    // At least our own queue; the rest depends on how far libzmq's I/O thread and the kernel got.
    expect(accepted).toBeGreaterThanOrEqual(HWM);
    expect(accepted).toBeLessThan(PATH_BOUND);

    push.sendTimeout = -1;
    let resumed = false;
    const waiting = push.send(payload(accepted)).then(() => {
      resumed = true;
    });
    await nextTurn();
    // Nothing reads, so the path is as full as it was for the last 50 refusals.
    expect(resumed).toBe(false);

    // In chunks, so no single driver reply carries megabytes of base64.
    for (let next = 0; next <= accepted; ) {
      const batch = await pull.receiveMany(Math.min(100, accepted + 1 - next));
      for (const message of batch) {
        expect(message).toHaveLength(1);
        checkPayload(message[0], next++);
      }
    }
    await waiting;
    expect(resumed).toBe(true);
  }, 60000);

  it("a pyzmq PUSH gets EAGAIN against a Privateer PULL that does not read, then resumes in order", async () => {
    const pull = new Pull({ receiveHighWaterMark: HWM });
    ours = pull;
    await pull.bind(bindAddress(transport));
    const push = await pyzmq().socket("PUSH", { sndhwm: HWM });
    theirs = push;
    const up = nextEvent(pull, "handshake");
    await push.connect(pull.lastEndpoint!, { awaitHandshakeMs: 5000 });
    await up;

    const body = payload(0);
    // Stops only once libzmq refused and its socket then stayed unwritable for 200 ms.
    const { sent, refused } = await push.sendUntilBlocked([body], { stallMs: 200, max: PATH_BOUND });
    expect(refused).toBeGreaterThan(0);
    expect(sent).toBeGreaterThanOrEqual(HWM);
    expect(sent).toBeLessThan(PATH_BOUND);

    for (let i = 0; i < sent; i++) {
      const message = await pull.receive();
      expect(message).toHaveLength(2);
      expect(message[0]!.toString()).toBe(`${i}`);
      expect(message[1]!.equals(body)).toBe(true);
    }
    // Room again all the way: libzmq's own wait for POLLOUT succeeds.
    await push.send([`${sent}`, body], 5000);
    const last = await pull.receive();
    expect(last[0]!.toString()).toBe(`${sent}`);
    expect(last[1]!.equals(body)).toBe(true);
  }, 60000);

  it("a Privateer PUB drops for a pyzmq SUB that does not read, never waits, and delivers whole messages in order", async () => {
    const pub = new Publisher({ sendHighWaterMark: HWM });
    ours = pub;
    await pub.bind(bindAddress(transport));
    const sub = await pyzmq().socket("SUB", { rcvhwm: HWM });
    theirs = sub;
    await sub.subscribe("");
    await sub.connect(pub.lastEndpoint!, { awaitHandshakeMs: 5000 });

    // The subscription travels after the handshake; until it lands, PUB filters everything out.
    let probed = false;
    for (let attempt = 0; attempt < 100 && !probed; attempt++) {
      await pub.send(["probe"]);
      probed = (await sub.tryReceive(50)) !== undefined;
    }
    expect(probed).toBe(true);

    /*
     * Up to 10 x 64 KiB can be queued per round, so 80 rounds offer 50 MiB,
     * more than the path to a SUB that does not read can hold (see
     * PATH_BOUND): the later rounds must find it full.
     */
    const ROUNDS = 80;
    const PER_ROUND = 30;
    const BODY = 64 * 1024;
    const bodies = new Map<number, Buffer>();
    const body = (seq: number): Buffer => {
      let cached = bodies.get(seq % 251);
      if (!cached) bodies.set(seq % 251, (cached = Buffer.alloc(BODY, seq % 251)));
      return cached;
    };
    const message = (seq: number): Buffer[] => [Buffer.from(`${seq}`), body(seq), Buffer.from(`tail ${seq}`)];

    // With an infinite sendTimeout a PUB that waited for room would leave sends pending.
    pub.sendTimeout = -1;
    const failures: unknown[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let done = 0;
      // One synchronous run per round, as libzmq's DONTWAIT loop: the transport cannot drain in between.
      for (let j = 0; j < PER_ROUND; j++) {
        pub.send(message(round * PER_ROUND + j)).then(
          () => done++,
          (error: unknown) => failures.push(error),
        );
      }
      await nextTurn();
      expect(failures).toEqual([]);
      expect(done).toBe(PER_ROUND);
    }

    // "end" marks the stream's end once it gets through; it cannot overtake a message published before it.
    const got: Buffer[][] = [];
    let quiet = 0;
    for (;;) {
      const next = await sub.tryReceive(100);
      if (next === undefined) {
        quiet++;
        if (quiet > 50) throw new Error(`no "end" marker after ${got.length} messages`);
        await pub.send(["end"]);
        continue;
      }
      quiet = 0;
      const head = next[0]!.toString();
      if (head === "end") break;
      // Probes still in flight from the subscription wait arrive before the burst.
      if (head === "probe") {
        expect(got).toEqual([]);
        continue;
      }
      got.push(next);
    }

    const seqs = got.map((frames) => Number(frames[0]!.toString()));
    // The first message of the burst found an empty queue.
    expect(seqs[0]).toBe(0);
    for (let k = 1; k < seqs.length; k++) expect(seqs[k]).toBeGreaterThan(seqs[k - 1]!);
    expect(got.length).toBeLessThan(ROUNDS * PER_ROUND);
    // Within one synchronous round only the mark's worth can be queued; the rest of the round is dropped.
    const perRound = new Map<number, number>();
    for (const seq of seqs) {
      const round = Math.floor(seq / PER_ROUND);
      perRound.set(round, (perRound.get(round) ?? 0) + 1);
    }
    for (const count of perRound.values()) expect(count).toBeLessThanOrEqual(HWM);
    // Whole rounds lost: the subscriber's full path made PUB drop, rather than buffer without bound.
    expect(perRound.size).toBeLessThan(ROUNDS);
    for (const [k, frames] of got.entries()) {
      const seq = seqs[k]!;
      expect(frames).toHaveLength(3);
      expect(frames[1]!.equals(body(seq))).toBe(true);
      expect(frames[2]!.toString()).toBe(`tail ${seq}`);
    }
  }, 60000);
});
