/**
 * CPU per request of the Majordomo logic alone, without sockets or system
 * calls, so that changes to it can be measured on a busy machine (the
 * end-to-end figures of broker-cpu.ts move by +-20% with the load):
 *
 * - broker: a BrokerEngine with `--workers` registered workers takes that many
 *   client REQUESTs (each dispatched at once) and then each worker's FINAL,
 *   its send() discarding what it is given;
 * - worker: a MajordomoWorker over a link stub is fed REQUESTs and answers each
 *   with an echo handler.
 *
 * Input frames are fresh views per message, as a socket delivers them.
 *
 *   node <build>/bench/tools/mdp-sans-io-cpu.js [--workers 16] [--rounds 100000]
 */
import { Subject } from "rxjs";
import { BrokerEngine, encodeClientCommand, encodeWorkerCommand, MajordomoWorker, type MdpLink } from "../../internal";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const WORKERS = Number(args.get("workers") ?? 16);
const ROUNDS = Number(args.get("rounds") ?? 100_000);

/** µs of CPU per call of `step`, after a warm-up of a tenth as many. */
function cpuPer(step: () => void, times: number): number {
  for (let i = 0; i < times / 10; i++) step();
  const start = process.cpuUsage();
  for (let i = 0; i < times; i++) step();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / times;
}

const views = (frames: readonly Buffer[]): Buffer[] => frames.map((frame) => frame.subarray(0));

function broker(): number {
  const toWorker = new Map<Buffer, Buffer[]>();
  const engine = new BrokerEngine((frames) => {
    // Keep the REQUEST each worker was sent (0.2, undelimited: [worker, MDPW02, 0x02, client, "", body]).
    if (frames[1]?.toString("latin1") === "MDPW02" && frames[2]?.[0] === 0x02) toWorker.set(frames[0]!, frames);
  });
  const workers = Array.from({ length: WORKERS }, (_, i) => Buffer.from([0, 0, 0, 1, i]));
  for (const worker of workers) engine.handle([worker, ...encodeWorkerCommand("0.2", { type: "ready", service: "echo" })]);
  const client = Buffer.from([0, 0, 0, 2, 0]);
  const request = encodeClientCommand("0.2", { type: "request", service: "echo", body: [Buffer.alloc(16, 0x61)] });
  const perRound = cpuPer(() => {
    for (let i = 0; i < WORKERS; i++) engine.handle([client, ...views(request)]);
    for (const worker of workers) {
      const sent = toWorker.get(worker)!;
      engine.handle([worker, ...views(encodeWorkerCommand("0.2", { type: "final", client: sent[3]!, body: [sent[5]!] }))]);
    }
  }, ROUNDS);
  engine.stop();
  return perRound / WORKERS;
}

function worker(): number {
  const messages = new Subject<Buffer[]>();
  let finals = 0;
  const link: MdpLink = {
    messages$: messages,
    send: (frames) => {
      if (frames[1]?.[0] === 0x04) finals++;
    },
    close: () => undefined,
  };
  const echo = new MajordomoWorker({ service: "echo", linkFactory: () => link, heartbeatInterval: 1_000_000 });
  echo.serve(({ body }) => body);
  const request = encodeWorkerCommand("0.2", { type: "request", client: Buffer.from([0, 0, 0, 2, 0]), body: [Buffer.alloc(16, 0x61)] });
  const per = cpuPer(() => messages.next(views(request)), ROUNDS * 3);
  if (finals !== Math.floor(ROUNDS * 3 + (ROUNDS * 3) / 10)) throw new Error(`expected one FINAL per REQUEST, got ${finals}`);
  void echo.close();
  return per;
}

console.log(`broker engine, ${WORKERS} workers: ${broker().toFixed(3)} µs CPU per request (client REQUEST + worker FINAL)`);
console.log(`worker session, echo handler: ${worker().toFixed(3)} µs CPU per request`);
process.exit(0);
