/**
 * High-water marks against real libzmq (4.3.5 through zeromq.js), over tcp
 * and ipc: flow control must work across implementations, each side's mark
 * holding its own queue, with the kernel buffers in between.
 *
 *  - A Privateer PUSH (sndhwm 10) to a libzmq PULL (rcvhwm 10) that does not
 *    read: sends stop being accepted after a bounded number, and once libzmq
 *    reads everything arrives, in order, intact.
 *  - The reverse: a libzmq PUSH to a Privateer PULL that does not read:
 *    Privateer's receive mark pauses the stream, libzmq's send blocks
 *    (EAGAIN with sendTimeout 0), and reading releases it.
 */
import { rmSync } from "node:fs";
import * as zmq from "zeromq";
import { Pull, Push } from "../../src";
import { bindAddress, closeAll, nextEvent } from "../helpers/endpoints";
import { sendUntilStalled } from "../parity/support";

const SIZE = 16 * 1024;

function payload(i: number): Buffer {
  const body = Buffer.alloc(SIZE, i % 251);
  body.writeUInt32BE(i, 0);
  return body;
}

function checkPayload(frame: Buffer, i: number): void {
  expect(frame.length).toBe(SIZE);
  expect(frame.readUInt32BE(0)).toBe(i);
  expect(frame[SIZE - 1]).toBe(i % 251);
}

describe.each(["tcp", "ipc"] as const)("high-water marks against libzmq over %s", (transport) => {
  let ours: Push | Pull | undefined;
  let theirs: zmq.Pull | zmq.Push | undefined;
  let ipcFile: string | undefined;

  afterEach(() => {
    closeAll(ours);
    if (theirs && !theirs.closed) {
      theirs.linger = 0;
      theirs.close();
    }
    // libzmq leaves its ipc socket file behind.
    if (ipcFile) rmSync(ipcFile, { force: true });
    ipcFile = undefined;
  });

  async function bindTheirs(socket: zmq.Socket): Promise<string> {
    const address = bindAddress(transport);
    if (address.startsWith("ipc://")) ipcFile = address.slice("ipc://".length);
    await socket.bind(address);
    return socket.lastEndpoint!;
  }

  it("a Privateer PUSH stops at its mark against a libzmq PULL that does not read, then resumes in order", async () => {
    const pull = new zmq.Pull({ receiveHighWaterMark: 10 });
    theirs = pull;
    const push = new Push({ sendHighWaterMark: 10 });
    ours = push;
    const up = nextEvent(push, "handshake");
    push.connect(await bindTheirs(pull));
    await up;

    const accepted = await sendUntilStalled(push, payload);
    // At least the sender's own mark (how much more depends on when libzmq's
    // I/O thread runs); at most what the buffers between them could hold (32 MiB).
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan((32 * 1024 * 1024) / SIZE);

    push.sendTimeout = -1;
    const waiting = push.send(payload(accepted));
    for (let i = 0; i <= accepted; i++) {
      const [frame] = await pull.receive();
      checkPayload(frame!, i);
    }
    await waiting;
  });

  it("a libzmq PUSH stops against a Privateer PULL that does not read, then resumes in order", async () => {
    const pull = new Pull({ receiveHighWaterMark: 10 });
    ours = pull;
    const push = new zmq.Push({ sendHighWaterMark: 10, sendTimeout: 0 });
    theirs = push;
    await pull.bind(bindAddress(transport));
    const up = nextEvent(pull, "handshake");
    push.connect(pull.lastEndpoint!);
    await up;

    // libzmq refuses with EAGAIN once its queue, the kernel buffers and our receive queue are all full.
    const accepted = await sendUntilStalled(push, payload);
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan((32 * 1024 * 1024) / SIZE);

    for (let i = 0; i < accepted; i++) {
      const [frame] = await pull.receive();
      checkPayload(frame!, i);
    }
    // Room again on every side.
    push.sendTimeout = -1;
    await push.send(payload(accepted));
    checkPayload((await pull.receive())[0]!, accepted);
  });
});
