import type { Message } from "../../src";
import { nextTurn } from "../helpers/clock";

/**
 * True when `promise` has not settled by the next turn of the event loop. Used
 * only to show that something is (still) waiting, never to wait for something.
 */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await nextTurn();
  return !settled;
}

/** The rejection of `promise`, or a failure if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code?: string; reason?: string } & Error> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string } & Error;
  }
  throw new Error("expected the promise to reject");
}

/**
 * Repeats `poke` until `receiving` settles, at most `tries` times, letting
 * `pauseMs` pass between pokes. For waits that have no event to await, such as
 * a subscription travelling to a PUB socket, which never tells.
 */
export async function untilReceived<T>(
  receiving: Promise<T>,
  poke: () => Promise<unknown> | unknown,
  tries = 200,
  pauseMs = 10,
): Promise<T> {
  let outcome: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  receiving.then(
    (value) => (outcome = { value }),
    (error: unknown) => (failure = { error }),
  );
  for (let attempt = 0; attempt < tries; attempt++) {
    await poke();
    for (let waited = 0; waited < pauseMs && !outcome && !failure; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (failure) throw failure.error;
    if (outcome) return outcome.value;
  }
  throw new Error(`nothing received after ${tries} attempts`);
}

/** Receives messages until one whose first frame is `marker` (included); returns them as text. */
export async function receiveThrough(
  socket: { receive(): Promise<Message> },
  marker: string,
  max = 100000,
): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 0; i < max; i++) {
    const message = (await socket.receive()).map((frame) => frame.toString());
    out.push(message);
    if (message[0] === marker) return out;
  }
  throw new Error(`marker ${marker} not seen in ${max} messages`);
}
