/**
 * A Majordomo worker for the service "echo". A request whose first frame is
 * a number N is answered with N partial replies and a final one (MDP 0.2),
 * anything else is echoed back.
 *
 *   node dist/examples/majordomo/worker.js [endpoint] [service]
 */
import { interval, map, take } from "rxjs";
import { MajordomoWorker } from "privateer";

const endpoint = process.argv[2] ?? "tcp://127.0.0.1:5555";
const service = process.argv[3] ?? "echo";
const worker = new MajordomoWorker({ broker: endpoint, service });

worker.events$.subscribe((event) => console.log(JSON.stringify(event)));
worker.serve(({ body }) => {
  const count = Number(body[0]?.toString());
  if (Number.isInteger(count) && count > 0) {
    return interval(200).pipe(
      take(count),
      map((i) => `part ${i + 1} of ${count}`),
    );
  }
  return body;
});

// close() settles once the DISCONNECTs are flushed and the sockets released, so exiting then loses nothing.
const stop = (): void => {
  void worker.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
