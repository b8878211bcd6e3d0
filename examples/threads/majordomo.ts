/**
 * A Majordomo broker in the main thread and workers in worker threads, all
 * over inproc://: a CPU-bound service spread over the machine's cores with
 * the same pattern code that spans machines over tcp. Only the endpoint
 * differs.
 *
 *   node dist/examples/threads/majordomo.js [threads] [requests]
 *
 * Each request asks how many primes lie below a bound (a sieve, pure
 * computation). The client keeps every request in flight at once; the
 * broker hands them to whichever worker thread is free. When all are
 * answered, everything is closed and the process exits by itself: closing
 * the last socket of a thread lets the thread end.
 */
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { MajordomoAsyncClient, MajordomoBroker, MajordomoWorker } from "privateer";

const BROKER = "inproc://majordomo-example";
const SERVICE = "primes";

/** The number of primes below `limit`, by the sieve of Eratosthenes. */
function countPrimes(limit: number): number {
  const composite = new Uint8Array(limit);
  let count = 0;
  for (let n = 2; n < limit; n++) {
    if (composite[n]) continue;
    count++;
    for (let m = n * n; m < limit; m += n) composite[m] = 1;
  }
  return count;
}

/** A worker thread: one Majordomo worker for the service, until the main thread says stop. */
function serveInThisThread(): void {
  const worker = new MajordomoWorker({ broker: BROKER, service: SERVICE });
  worker.serve(({ body }) => String(countPrimes(Number(body[0]?.toString()))));
  // parentPort belongs to this example, not to Privateer: it only carries the stop signal.
  parentPort!.once("message", () => {
    parentPort!.close();
    void worker.close();
  });
}

async function main(): Promise<void> {
  const threads = Number(process.argv[2] ?? Math.max(2, availableParallelism()));
  const requests = Number(process.argv[3] ?? 16);
  const broker = new MajordomoBroker();
  await broker.bind(BROKER);
  const workers = Array.from({ length: threads }, () => new Worker(__filename));
  const exited = workers.map((worker) => new Promise<number>((resolve) => worker.once("exit", resolve)));

  const client = new MajordomoAsyncClient({ broker: BROKER, timeout: 30_000, retries: 0 });
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const limit = 2_000_000 + i * 100_000;
      const [reply] = await client.call(SERVICE, String(limit));
      return `primes below ${limit}: ${reply!.toString()}`;
    }),
  );
  const elapsed = performance.now() - started;
  for (const answer of answers) console.log(answer);
  console.log(`${requests} requests on ${threads} worker threads in ${elapsed.toFixed(0)} ms`);

  for (const worker of workers) worker.postMessage("stop");
  const codes = await Promise.all(exited);
  console.log(`worker threads exited by themselves (codes ${codes.join(", ")})`);
  await client.close();
  await broker.close();
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  serveInThisThread();
}
