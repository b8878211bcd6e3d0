import type { Message, SocketBase } from "../../src";
import type { Pipe } from "../../src/pipe/pipe";

/**
 * Resolves once `count` of the socket's pipes hold unread messages. Fair
 * queuing only shows when several peers' messages wait at the same time,
 * and no public API tells when they have all arrived, so this looks at the
 * socket's pipes, yielding to the event loop between looks.
 */
export async function untilQueued(socket: SocketBase, count: number, ms = 5000): Promise<void> {
  const pipes = (socket as unknown as { pipes: Set<Pipe> }).pipes;
  if (!(pipes instanceof Set)) throw new Error("SocketBase no longer keeps its pipes in `pipes`");
  const deadline = Date.now() + ms;
  while ([...pipes].filter((pipe) => pipe.readable).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} peers had messages queued after ${ms} ms`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Byte-for-byte equality, frame by frame: binary frames would not survive a comparison as text. */
export function expectSameFrames(actual: Message, expected: Message): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((frame, i) => expect(frame.equals(expected[i]!)).toBe(true));
}
