/**
 * The whole story in one command: starts a primary, a backup and a client
 * as separate processes on free loopback ports, kills the primary with
 * SIGKILL after a few replies, lets the client fail over to the backup,
 * restarts the primary (it comes back passive) and stops. Every line the
 * three processes print is shown as it happens.
 *
 *   node dist/examples/binary-star/pair.js [--heartbeat 250]
 *
 * The client's timeout is one heartbeat and its settle delay the servers'
 * peer window (two heartbeats), as in the benchmark's 250 ms variant.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import * as path from "node:path";
import * as readline from "node:readline";

const heartbeat = Number(process.argv[process.argv.indexOf("--heartbeat") + 1] ?? "250") || 250;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

interface Proc {
  readonly child: ChildProcess;
  /** Resolves at the first line, printed from now on, that contains `text`. */
  waitFor(text: string): Promise<void>;
}

function start(script: string, args: string[]): Proc {
  const child = spawn(process.execPath, [path.join(__dirname, script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const waiters: Array<{ text: string; resolve(): void }> = [];
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    process.stdout.write(`${line}\n`);
    for (const waiter of [...waiters]) {
      if (line.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return { child, waitFor: (text) => new Promise((resolve) => waiters.push({ text, resolve })) };
}

async function main(): Promise<void> {
  const [pf, pp, bf, bp] = (await Promise.all([freePort(), freePort(), freePort(), freePort()])).map((p) => `tcp://127.0.0.1:${p}`);
  const primaryArgs = ["--primary", "--heartbeat", String(heartbeat), "--frontend", pf!, "--pub", pp!, "--sub", bp!];
  const backupArgs = ["--backup", "--heartbeat", String(heartbeat), "--frontend", bf!, "--pub", bp!, "--sub", pp!];
  const backup = start("server.js", backupArgs);
  let primary = start("server.js", primaryArgs);
  await Promise.all([primary.waitFor("primary → active"), backup.waitFor("backup → passive")]);
  const clientArgs = ["--primary", pf!, "--backup", bf!, "--timeout", String(heartbeat), "--settle", String(2 * heartbeat), "--interval", "200"];
  const client = start("client.js", clientArgs);
  await client.waitFor("request 3 answered by the primary");
  process.stdout.write(`---- killing the primary (SIGKILL) ----\n`);
  primary.child.kill("SIGKILL");
  await client.waitFor("answered by the backup");
  await client.waitFor("answered by the backup");
  process.stdout.write(`---- restarting the primary: it must come back passive ----\n`);
  primary = start("server.js", primaryArgs);
  await primary.waitFor("primary → passive");
  await client.waitFor("answered by the backup");
  await client.waitFor("answered by the backup");
  for (const proc of [client, primary, backup]) proc.child.kill("SIGTERM");
}

void main();
