/**
 * The floor under the Majordomo broker's CPU per request: what a Node process
 * pays, with plain `net` sockets and no ZMTP at all, for the one read and one
 * write system call per request a broker cannot avoid (each worker takes one
 * request at a time, over its own connection, so nothing can be coalesced).
 * `--conns` loopback connections each keep one small message in flight to
 * echo processes (`--procs` of them), which burn `--work` µs of CPU per
 * message, as a worker's library and handler do; the figure is this
 * process's user + system CPU time per message echoed.
 *
 *   node <build>/bench/tools/write-floor.js [--conns 16] [--procs 2] [--work 30] [--size 40] [--window 4000]
 */
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const num = (key: string, fallback: number): number => Number(args.get(key) ?? fallback);

function cpuMicros(): number {
  const stat = readFileSync(`/proc/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

if (args.has("echo")) {
  // An echo process: `conns` connections, each message answered after `work` µs of busy CPU.
  const work = BigInt(Math.round(num("work", 0) * 1000));
  for (let i = 0; i < num("conns", 8); i++) {
    const socket = net.connect(Number(args.get("echo")), "127.0.0.1");
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => {
      const start = process.hrtime.bigint();
      while (process.hrtime.bigint() - start < work);
      socket.write(data);
    });
  }
  process.on("disconnect", () => process.exit(0));
} else {
  const conns = num("conns", 16);
  const procs = num("procs", 2);
  let count = 0;
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("data", (data: Buffer) => {
      count++;
      socket.write(data);
    });
    socket.write(Buffer.alloc(num("size", 40)));
  });
  server.listen(0, "127.0.0.1", () => {
    const port = String((server.address() as net.AddressInfo).port);
    const children = Array.from({ length: procs }, () =>
      fork(__filename, ["--echo", port, "--conns", String(conns / procs), "--work", String(num("work", 30))]),
    );
    setTimeout(() => {
      const c0 = count;
      const u0 = cpuMicros();
      setTimeout(() => {
        const messages = count - c0;
        const us = (cpuMicros() - u0) / messages;
        console.log(`${conns} connections, ${procs} echo processes: ${messages} messages, ${us.toFixed(2)} µs CPU per message (one read + one write)`);
        for (const child of children) child.kill("SIGKILL");
        process.exit(0);
      }, num("window", 4000));
    }, 1000);
  });
}
