/**
 * A closed socket gives back everything it held: its tcp port (a new socket
 * can bind the same one), its ipc file (gone from the file system), and its
 * timers and handles (a Node process whose sockets are all closed exits by
 * itself, as a libzmq program returns from zmq_ctx_term).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { Pull, Push } from "../../src";
import { bindAddress, closeAll, nextEvent } from "../helpers/endpoints";

describe("close() releases what the socket held", () => {
  let sockets: Array<Push | Pull> = [];
  afterEach(() => closeAll(...sockets.splice(0)));

  it("its tcp port: a new socket binds the same port once the close event has been seen", async () => {
    const first = new Pull();
    sockets.push(first);
    await first.bind(bindAddress("tcp"));
    const endpoint = first.lastEndpoint!;
    const client = new Push();
    sockets.push(client);
    const up = [nextEvent(first, "handshake"), nextEvent(client, "handshake")];
    client.connect(endpoint);
    await Promise.all(up);

    const closed = nextEvent(first, "close");
    const dropped = nextEvent(client, "disconnect");
    first.close();
    await closed;
    await dropped;
    const second = new Pull();
    sockets.push(second);
    const back = nextEvent(second, "handshake");
    await second.bind(endpoint);
    expect(second.lastEndpoint).toBe(endpoint);
    // And it works: the old client reconnects to the new owner of the port.
    await back;
    await client.send("to the new socket");
    expect((await second.receive()).map(String)).toEqual(["to the new socket"]);
  });

  it("its ipc file: gone once the close event has been seen, and the path can be bound again", async () => {
    const first = new Pull();
    sockets.push(first);
    const address = bindAddress("ipc");
    await first.bind(address);
    const file = address.slice("ipc://".length);
    expect(existsSync(file)).toBe(true);
    const closed = nextEvent(first, "close");
    first.close();
    await closed;
    expect(existsSync(file)).toBe(false);
    const second = new Pull();
    sockets.push(second);
    await second.bind(address);
  });

  // The behaviour under test is real time passing: a process with pending
  // timers or open handles does not exit. The child transpiles src with the
  // TypeScript compiler on the fly (no build step), exercises every kind of
  // timer and handle, closes everything, prints "closed", and must then exit
  // on its own. A positive linger (300 ms) on an undeliverable message is part
  // of it, so the exit may take that long, but not the 60 s a leaked
  // receiveTimeout, or any heartbeat or reconnect timer left running, would.
  it("its timers and handles: a process whose sockets are all closed exits by itself", async () => {
    const script = `
      const fs = require("node:fs");
      const ts = require(${JSON.stringify(require.resolve("typescript"))});
      require.extensions[".ts"] = (module, filename) => {
        const output = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
          fileName: filename,
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        });
        module._compile(output.outputText, filename);
      };
      const pv = require(${JSON.stringify(path.resolve(__dirname, "../../src/index.ts"))});
      const once = (socket, type) => new Promise((resolve) => {
        const s = socket.events$.subscribe((e) => { if (e.type === type) { s.unsubscribe(); resolve(e); } });
      });
      (async () => {
        const options = { heartbeatInterval: 1000, heartbeatTimeout: 3000, heartbeatTimeToLive: 5000, handshakeInterval: 30000 };
        const pull = new pv.Pull(options);
        await pull.bind("tcp://127.0.0.1:*");
        const push = new pv.Push(options);
        const up = once(pull, "handshake");
        push.connect(pull.lastEndpoint);
        await up;
        await push.send("hello");
        await pull.receive();
        // A reconnect loop to nowhere, with a message queued for it and a positive linger.
        const stuck = new pv.Dealer({ linger: 300, reconnectInterval: 100, reconnectMaxInterval: 1000 });
        stuck.connect("tcp://127.0.0.1:1");
        await stuck.send("undeliverable");
        // A receive that would time out only after a minute.
        const waiting = new pv.Dealer({ receiveTimeout: 60000 });
        await waiting.bind("ipc://" + require("node:os").tmpdir() + "/pv-parity-exit-" + process.pid + ".sock");
        const pending = waiting.receive().catch(() => "rejected on close");
        // Subscriptions are queued messages too: with the default linger (-1)
        // a SUB whose publisher never appears would wait for it forever.
        const sub = new pv.Subscriber({ linger: 200, reconnectInterval: 50 });
        sub.connect("inproc://nobody-binds-this");
        sub.connect("tcp://127.0.0.1:1");
        sub.subscribe("x");
        for (const s of [pull, push, stuck, waiting, sub]) s.close();
        await pending;
        process.stdout.write("closed\\n");
      })().catch((e) => { console.error(e); process.exit(2); });
    `;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let closedAt: number | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (closedAt === undefined && stdout.includes("closed")) closedAt = Date.now();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = await new Promise<{ code: number | null; at: number }>((resolve) => {
      const deadline = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("exit", (code) => {
        clearTimeout(deadline);
        resolve({ code, at: Date.now() });
      });
    });
    expect(stderr).toBe("");
    expect(stdout).toContain("closed");
    expect(exit.code).toBe(0);
    // 300 ms of linger, plus generous slack for a loaded machine.
    expect(exit.at - closedAt!).toBeLessThan(3000);
  }, 20_000);
});
