/**
 * Runs in a worker thread: a Majordomo worker for the service "square",
 * connected over inproc to a broker in another thread. Replies carry this
 * thread's id, so the test sees which thread served each request. Any
 * message on the parentPort stops it; its thread then ends by itself.
 */
import { parentPort, threadId, workerData } from "node:worker_threads";
import { MajordomoWorker } from "../../../patterns";

const worker = new MajordomoWorker({ broker: (workerData as { broker: string }).broker, service: "square" });
// Events are not replayed: subscribe before serve().
worker.events$.subscribe((event) => {
  if (event.type === "ready") parentPort!.postMessage({ ready: true });
});
worker.serve(({ body }) => {
  const n = Number(body[0]?.toString());
  return [String(n * n), String(threadId)];
});
parentPort!.once("message", () => {
  parentPort!.close();
  void worker.close();
});
