/**
 * The `privateer` command, run as users run it: compiled, in child
 * processes, talking over 127.0.0.1 with ephemeral ports. Each command is
 * started as a child; logs are read as the JSON lines they are on stderr.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LazyPirateClient, MajordomoAsyncClient, MajordomoClient } from "privateer";
import { CliProcess, compileCli, FIXTURES, removeCompiled, ROOT, runCli } from "./cli-process";

const ECHO = path.join(FIXTURES, "echo-handler.js");
const PPP = path.join(FIXTURES, "ppp-handler.js");
const ANY = "tcp://127.0.0.1:*";

let outDir: string;
const started: CliProcess[] = [];
const clients: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  outDir = await compileCli();
}, 120_000);

afterAll(async () => {
  if (outDir !== undefined) await removeCompiled(outDir);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(started.splice(0).map((p) => p.kill()));
});

function start(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = new CliProcess(outDir, [...args, "--log-format", "json"], env);
  started.push(child);
  return child;
}

/** A broker on an ephemeral port; resolves with it and its endpoint. */
async function startBroker(extra: string[] = [], env: Record<string, string> = {}): Promise<{ broker: CliProcess; endpoint: string }> {
  const broker = start(["broker", "--bind", ANY, ...extra], env);
  const bound = await broker.waitForMsg("broker bound");
  return { broker, endpoint: bound.endpoint as string };
}

/** A worker for `service`; resolves once the broker has registered it. */
async function startWorker(broker: CliProcess, endpoint: string, service: string, env: Record<string, string> = {}, extra: string[] = []) {
  const before = broker.logs.filter((r) => r.msg === "worker-ready" && r.service === service).length;
  const worker = start(["worker", "--module", ECHO, "--service", service, "--connect", endpoint, ...extra], env);
  await broker.waitForLog(
    (r) => r.msg === "worker-ready" && r.service === service && broker.logs.filter((x) => x.msg === "worker-ready" && x.service === service).indexOf(r) >= before,
    `worker-ready for ${service}`,
  );
  return worker;
}

describe("--help", () => {
  it.each([
    ["broker", ["--bind", "--metrics", "--shutdown-timeout", "PRIVATEER_BIND"]],
    ["queue", ["--frontend", "--backend", "--metrics", "PRIVATEER_FRONTEND"]],
    ["worker", ["--module", "--service", "--protocol", "--connect", "PRIVATEER_MODULE"]],
    ["call", ["<service>", "[body...]", "--broker", "--timeout", "PRIVATEER_BROKER"]],
    ["services", ["--broker", "--json"]],
    ["demo", ["--duration", "--workers", "--clients", "--no-faults", "--no-dedup", "PRIVATEER_DURATION"]],
  ])("privateer %s --help exits 0 and lists its options", async (command, expected) => {
    const { code, stdout } = await runCli(outDir, [command, "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: privateer ${command}`);
    for (const text of [...expected, "--log-level", "--config"]) expect(stdout).toContain(text);
  });

  it("privateer --help lists every command; an unknown command exits non-zero", async () => {
    const { code, stdout } = await runCli(outDir, ["--help"]);
    expect(code).toBe(0);
    for (const command of ["broker", "queue", "worker", "call", "services", "demo"]) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    const wrong = await runCli(outDir, ["brokre"]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("unknown command");
  });
});

describe("broker, worker --module, call and services", () => {
  it("answers a call through a worker that runs the user's module, and lists the service", async () => {
    const { broker, endpoint } = await startBroker();
    const worker = await startWorker(broker, endpoint, "echo");

    const call = await runCli(outDir, ["call", "echo", "hello", "world", "--broker", endpoint]);
    expect(call).toMatchObject({ code: 0, stdout: `pid ${worker.pid}\nhello\nworld\n` });

    const services = await runCli(outDir, ["services", "--broker", endpoint]);
    expect(services.code).toBe(0);
    expect(services.stdout.split("\n")).toEqual(["SERVICE  WORKERS  IDLE  QUEUED", "echo     1        1     0", ""]);
    const json = await runCli(outDir, ["services", "--json", "--broker", endpoint]);
    expect(JSON.parse(json.stdout)).toEqual([{ name: "echo", workers: 1, idle: 1, queued: 0 }]);
  }, 60_000);

  it("call fails with exit 1 and a message when no worker answers in time", async () => {
    const { endpoint } = await startBroker();
    const call = await runCli(outDir, ["call", "nobody", "x", "--broker", endpoint, "--timeout", "300", "--retries", "0"]);
    expect(call.code).toBe(1);
    expect(call.stdout).toBe("");
    expect(call.stderr).toMatch(/^privateer call: .*timed out|^privateer call: .+/m);
  }, 30_000);

  it("worker refuses a module that exports no function", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "privateer-cli-module-"));
    try {
      writeFileSync(path.join(dir, "bad.js"), "module.exports = { answer: 42 };\n");
      const result = await runCli(outDir, ["worker", "--module", path.join(dir, "bad.js"), "--service", "x", "--connect", "tcp://127.0.0.1:1"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("exports no function");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("queue", () => {
  it("routes a Lazy Pirate request to a Paranoid Pirate worker running the user's module, and stops on SIGTERM", async () => {
    const queue = start(["queue", "--frontend", ANY, "--backend", ANY, "--heartbeat-interval", "250"]);
    const bound = await queue.waitForMsg("queue bound");
    const worker = start(["worker", "--protocol", "ppp", "--module", PPP, "--connect", bound.backend as string, "--heartbeat-interval", "250"]);
    await queue.waitForMsg("worker-ready");
    const client = new LazyPirateClient(bound.frontend as string, { timeout: 2000, retries: 2 });
    clients.push(client);
    const reply = await client.call("ping");
    expect(reply.map(String)).toEqual([`ppp ${worker.pid}`, "ping"]);

    worker.signal("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    queue.signal("SIGTERM");
    expect(await queue.exited).toEqual({ code: 0, signal: null });
    expect(queue.logs.map((r) => r.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));
  }, 60_000);
});

describe("options: flags, then PRIVATEER_* variables, then the config file, then defaults", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "privateer-cli-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("takes each setting from the strongest source that has it", async () => {
    const config = path.join(dir, "privateer.json");
    writeFileSync(
      config,
      JSON.stringify({
        "log-level": "debug",
        broker: { "heartbeat-interval": 1111, "request-timeout": 2222, maxQueued: 3333 },
        worker: { concurrency: 9 },
      }),
    );
    const { broker } = await startBroker(["--max-queued", "6666", "--config", config], {
      PRIVATEER_REQUEST_TIMEOUT: "4444",
      PRIVATEER_MAX_QUEUED: "5555",
    });
    const settings = (await broker.waitForMsg("broker starting")).settings;
    expect(settings).toEqual({
      bind: [ANY], // flag
      maxQueued: 6666, // flag beats variable and file
      requestTimeout: 4444, // variable beats file
      heartbeatInterval: 1111, // file beats default
      logLevel: "debug", // file, top level
      heartbeatLiveness: 3, // default
      pairHeartbeat: 1000, // default
      shutdownTimeout: 5000, // default
    });
  }, 30_000);

  it("reads the config file named by PRIVATEER_CONFIG, and refuses a key that is no option of the command", async () => {
    const config = path.join(dir, "bad.json");
    writeFileSync(config, JSON.stringify({ broker: { "heartbeat-intervall": 1000 } }));
    const result = await runCli(outDir, ["broker", "--bind", ANY], { PRIVATEER_CONFIG: config });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`config key "broker.heartbeat-intervall" is not an option of "broker"`);
  });

  it("starts a worker from the file alone: --module, --service and a one-string --connect list", async () => {
    const { broker, endpoint } = await startBroker();
    const config = path.join(dir, "worker.json");
    writeFileSync(config, JSON.stringify({ worker: { module: ECHO, service: "configured", connect: endpoint } }));
    start(["worker", "--config", config]);
    await broker.waitForLog((r) => r.msg === "worker-ready" && r.service === "configured", "the configured worker");
    const call = await runCli(outDir, ["call", "configured", "x", "--broker", endpoint]);
    expect(call.code).toBe(0);
    expect(call.stdout).toMatch(/\nx\n$/);
    const missing = await runCli(outDir, ["worker", "--service", "x"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--module is required");
  }, 30_000);

  it("rejects a malformed value from any source: flag, variable or file", async () => {
    const flag = await runCli(outDir, ["broker", "--bind", ANY, "--heartbeat-interval", "-5"]);
    const variable = await runCli(outDir, ["broker", "--bind", ANY], { PRIVATEER_HEARTBEAT_INTERVAL: "soon" });
    const config = path.join(dir, "values.json");
    writeFileSync(config, JSON.stringify({ broker: { "heartbeat-interval": -5 } }));
    const file = await runCli(outDir, ["broker", "--bind", ANY, "--config", config]);
    for (const result of [flag, variable, file]) {
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("expected a non-negative integer");
    }
    writeFileSync(config, JSON.stringify({ "log-level": "loud" }));
    const choice = await runCli(outDir, ["broker", "--bind", ANY, "--config", config]);
    expect(choice.code).toBe(1);
    expect(choice.stderr).toContain(`config key "log-level" ("loud"): Allowed choices are fatal`);
  }, 30_000);
});

describe("graceful shutdown on SIGTERM", () => {
  it("a worker finishes the request in progress, the client gets its reply, and the worker exits 0", async () => {
    const { broker, endpoint } = await startBroker(["--log-level", "debug"]);
    const worker = await startWorker(broker, endpoint, "slow", { DELAY_MS: "1500" }, ["--log-level", "debug"]);
    const client = new MajordomoClient({ broker: endpoint, timeout: 10_000, retries: 0 });
    clients.push(client);
    const reply = client.call("slow", "job");
    await worker.waitForMsg("request");
    const signalled = Date.now();
    worker.signal("SIGTERM");

    expect((await reply).map(String)).toEqual([`pid ${worker.pid}`, "job"]);
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5000 + 2000);
    // The reply went out before the worker left, and nothing was handed back.
    const left = await broker.waitForLog((r) => r.msg === "worker-disconnected", "the worker leaving");
    expect(left.reason).toBe("worker-disconnect");
    const order = broker.logs
      .filter((r) => r.component === "mdp-broker")
      .map((r) => r.msg)
      .filter((m) => ["reply-sent", "worker-disconnected", "request-requeued"].includes(m));
    expect(order).toEqual(["reply-sent", "worker-disconnected"]);
  }, 60_000);

  it("past --shutdown-timeout the worker hands the request back: the broker requeues it and another worker answers", async () => {
    const { broker, endpoint } = await startBroker(["--log-level", "debug"]);
    const slow = await startWorker(broker, endpoint, "slow", { DELAY_MS: "5000" }, ["--log-level", "debug", "--shutdown-timeout", "300"]);
    const client = new MajordomoClient({ broker: endpoint, timeout: 15_000, retries: 0 });
    clients.push(client);
    const reply = client.call("slow", "job");
    await slow.waitForMsg("request");
    const spare = await startWorker(broker, endpoint, "slow", { DELAY_MS: "0" });
    slow.signal("SIGTERM");

    expect(await slow.exited).toEqual({ code: 0, signal: null });
    await broker.waitForMsg("request-requeued");
    expect((await reply).map(String)).toEqual([`pid ${spare.pid}`, "job"]);
  }, 60_000);

  it("a Paranoid Pirate worker finishes the request in progress, then exits 0", async () => {
    const queue = start(["queue", "--frontend", ANY, "--backend", ANY, "--heartbeat-interval", "250"]);
    const bound = await queue.waitForMsg("queue bound");
    const worker = start(
      ["worker", "--protocol", "ppp", "--module", PPP, "--connect", bound.backend as string, "--heartbeat-interval", "250", "--log-level", "debug"],
      { DELAY_MS: "1500" },
    );
    await queue.waitForMsg("worker-ready");
    const client = new LazyPirateClient(bound.frontend as string, { timeout: 10_000, retries: 0 });
    clients.push(client);
    const reply = client.call("job");
    await worker.waitForMsg("request");
    worker.signal("SIGTERM");
    expect((await reply).map(String)).toEqual([`ppp ${worker.pid}`, "job"]);
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it("a broker tells its workers DISCONNECT and exits 0", async () => {
    const { broker, endpoint } = await startBroker();
    const worker = await startWorker(broker, endpoint, "echo");
    broker.signal("SIGTERM");
    expect(await broker.exited).toEqual({ code: 0, signal: null });
    await worker.waitForMsg("disconnect-received");
    worker.signal("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  }, 30_000);
});

describe("broker --pair", () => {
  it("two brokers serve as a Binary Star pair: SIGTERM on the active one, the backup takes over and the call goes through", async () => {
    const unique = `${process.pid}-${Date.now().toString(36)}`;
    const stateA = `ipc://${path.join(tmpdir(), `privateer-cli-a-${unique}.sock`)}`;
    const stateB = `ipc://${path.join(tmpdir(), `privateer-cli-b-${unique}.sock`)}`;
    const pairFlags = ["--pair-heartbeat", "250", "--metrics", "127.0.0.1:0", "--heartbeat-interval", "500"];
    const primary = await startBroker(["--pair", "primary", "--state-bind", stateA, "--state-connect", stateB, ...pairFlags]);
    const backup = await startBroker(["--pair", "backup", "--state-bind", stateB, "--state-connect", stateA, ...pairFlags]);
    const backupMetrics = (await backup.broker.waitForMsg("metrics served")).url as string;
    await backup.broker.waitForLog((r) => r.msg === "pair state-changed" && r.to === "passive", "the backup going passive");
    const brokers = [primary.endpoint, backup.endpoint];
    start(["worker", "--module", ECHO, "--service", "echo", "--heartbeat-interval", "500", "--connect", ...brokers]);
    await primary.broker.waitForMsg("worker-ready");

    const first = await runCli(outDir, ["call", "echo", "one", "--broker", ...brokers]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/\none\n$/);

    primary.broker.signal("SIGTERM");
    expect(await primary.broker.exited).toEqual({ code: 0, signal: null });
    const second = await runCli(outDir, ["call", "echo", "two", "--broker", ...brokers, "--timeout", "1000", "--retries", "9"], {}, 30_000);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/\ntwo\n$/);
    await backup.broker.waitForLog((r) => r.msg === "pair state-changed" && r.from === "passive" && r.to === "active", "the takeover");

    const text = await (await fetch(backupMetrics)).text();
    expect(text).toMatch(/^privateer_binary_star_state\{state="active"\} 1$/m);
    expect(text).toMatch(/^privateer_binary_star_state\{state="passive"\} 0$/m);
    expect(text).toMatch(/^privateer_binary_star_failovers_total 1$/m);
    expect(text).toMatch(/^privateer_replies_sent_total\{pattern="majordomo",service="echo"\} 1$/m);
  }, 90_000);
});

describe("logs", () => {
  it("are JSON lines with --log-format json and readable lines with --log-format pretty, on stderr only", async () => {
    const args = ["services", "--broker", "tcp://127.0.0.1:1", "--timeout", "100", "--retries", "0", "--log-level", "debug"];
    const json = await runCli(outDir, [...args, "--log-format", "json"]);
    const jsonLines = json.stderr.split("\n").filter((l) => l.startsWith("{"));
    expect(jsonLines.length).toBeGreaterThan(0);
    expect(jsonLines.map((l) => (JSON.parse(l) as { level: number }).level)).toContain(20);
    const pretty = await runCli(outDir, [...args, "--log-format", "pretty"]);
    expect(pretty.stderr).toMatch(/^\[[\d:.]+\] DEBUG \(\d+\):/m);
    expect(pretty.stderr.split("\n").some((l) => l.startsWith("{"))).toBe(false);
    for (const run of [json, pretty]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
    }
  });
});

describe("logs without the optional pino-pretty", () => {
  let modules: string;
  beforeAll(() => {
    // The project's node_modules less pino-pretty, as after `npm install --omit=optional`.
    modules = mkdtempSync(path.join(tmpdir(), "privateer-cli-modules-"));
    const real = path.join(ROOT, "node_modules");
    for (const entry of readdirSync(real)) {
      if (entry !== "pino-pretty") symlinkSync(path.join(real, entry), path.join(modules, entry));
    }
  });
  afterAll(() => rmSync(modules, { recursive: true, force: true }));

  it("fall back to JSON lines when pretty ones are asked for", async () => {
    const args = ["services", "--broker", "tcp://127.0.0.1:1", "--timeout", "100", "--retries", "0", "--log-level", "debug", "--log-format", "pretty"];
    const result = await runCli(outDir, args, { NODE_PATH: modules });
    const lines = result.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("privateer services:"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(result.code).toBe(1);
  });
});

// The demo's full run (faults, failover, the exactly-once verdict and its negative control) is test/cli/ha-demo.test.ts.
describe("demo", () => {
  let modules: string;
  beforeAll(() => {
    // The project's node_modules less better-sqlite3, the demo's optional peer dependency.
    modules = mkdtempSync(path.join(tmpdir(), "privateer-cli-modules-"));
    const real = path.join(ROOT, "node_modules");
    for (const entry of readdirSync(real)) {
      if (entry !== "better-sqlite3") symlinkSync(path.join(real, entry), path.join(modules, entry));
    }
  });
  afterAll(() => rmSync(modules, { recursive: true, force: true }));

  it("without better-sqlite3, names the install command and exits 2 before starting anything", async () => {
    const { code, stdout, stderr } = await runCli(outDir, ["demo", "--duration", "1"], { NODE_PATH: modules });
    expect(stderr).toContain("privateer demo needs the optional dependency better-sqlite3: npm install better-sqlite3@12");
    expect(stdout).toBe("");
    expect(code).toBe(2);
  });

  it("refuses fewer than two workers, or a zero duration, as usage errors", async () => {
    for (const args of [["--workers", "1"], ["--duration", "0"]]) {
      const { code, stdout, stderr } = await runCli(outDir, ["demo", ...args]);
      expect(stderr).toMatch(/error: option '--(workers|duration) <\w+>' argument '\d' is invalid\. must be at least [12]/);
      expect(stdout).toBe("");
      expect(code).toBe(1);
    }
  });
});

describe("metrics", () => {
  /** One sample's value from Prometheus text, or undefined when absent. */
  function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split("\n")) {
      const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const have = match[2]!.split(",");
      if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
    }
    return undefined;
  }

  async function scrape(url: string): Promise<string> {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    return response.text();
  }

  it("the broker's endpoint reports what the test did: requests, replies, rejections, requeues, depth, workers, latency", async () => {
    const { broker, endpoint } = await startBroker(["--metrics", "127.0.0.1:0", "--max-queued", "1", "--log-level", "debug"]);
    const url = (await broker.waitForMsg("metrics served")).url as string;
    const echo = { pattern: "majordomo", service: "echo" };
    const nobody = { pattern: "majordomo", service: "nobody" };

    // Before anything happened: the counters are absent or zero, so the figures below are the test's doing.
    const before = await scrape(url);
    expect(sample(before, "privateer_requests_received_total", echo) ?? 0).toBe(0);

    await startWorker(broker, endpoint, "echo");
    const client = new MajordomoAsyncClient({ broker: endpoint, timeout: 5000, retries: 0 });
    clients.push(client);
    const N = 7;
    // One after another: this broker queues at most one request per service (--max-queued 1), and the async
    // client pipelines concurrent calls to a broker that speaks request ids.
    for (let i = 0; i < N; i++) await client.call("echo", `${i}`);
    // Latency is measured from receipt to the final reply: a handler that takes 300 ms lands in the (0.25, 0.5] bucket.
    await startWorker(broker, endpoint, "delayed", { DELAY_MS: "300" });
    await client.call("delayed", "x");

    // "nobody" has no worker: the first request waits in its queue, the second finds it full (max 1) and is rejected.
    // (Two clients: one client's requests for one service go one at a time.)
    const patient = new MajordomoClient({ broker: endpoint, timeout: 60_000, retries: 0 });
    const refused = new MajordomoClient({ broker: endpoint, timeout: 5000, retries: 0 });
    clients.push(patient, refused);
    const waiting = patient.call("nobody", "a").catch(() => undefined);
    await broker.waitForLog((r) => r.msg === "request-queued" && r.service === "nobody", "the first request for nobody queued");
    await expect(refused.call("nobody", "b")).rejects.toMatchObject({ reason: "queue-full" });

    // A worker killed while holding a request: the broker requeues it to the other worker.
    const victim = await startWorker(broker, endpoint, "slow", { DELAY_MS: "10000" }, ["--log-level", "debug"]);
    const slowCall = client.call("slow", "x");
    await victim.waitForMsg("request");
    await startWorker(broker, endpoint, "slow", { DELAY_MS: "0" });
    await victim.kill();
    await slowCall;

    const text = await scrape(url);
    expect(sample(text, "privateer_requests_received_total", echo)).toBe(N);
    expect(sample(text, "privateer_replies_sent_total", echo)).toBe(N);
    expect(sample(text, "privateer_request_duration_seconds_count", echo)).toBe(N);
    expect(sample(text, "privateer_requests_received_total", nobody)).toBe(2);
    expect(sample(text, "privateer_requests_rejected_total", nobody)).toBe(1);
    expect(sample(text, "privateer_queue_depth", nobody)).toBe(1);
    expect(sample(text, "privateer_workers", echo)).toBe(1);
    expect(sample(text, "privateer_workers", { pattern: "majordomo", service: "slow" })).toBe(1);
    expect(sample(text, "privateer_requests_requeued_total", { pattern: "majordomo", service: "slow" })).toBe(1);
    expect(sample(text, "privateer_replies_sent_total", { pattern: "majordomo", service: "slow" })).toBe(1);
    const delayed = { pattern: "majordomo", service: "delayed" };
    expect(sample(text, "privateer_request_duration_seconds_bucket", { ...delayed, le: "0.25" })).toBe(0);
    expect(sample(text, "privateer_request_duration_seconds_bucket", { ...delayed, le: "0.5" })).toBe(1);
    expect(sample(text, "privateer_request_duration_seconds_sum", delayed)).toBeGreaterThanOrEqual(0.3);
    // The rejected request got an error reply (an MDP 0.2 client does): counted as a rejection, not as a reply.
    expect(sample(text, "privateer_replies_sent_total", nobody)).toBeUndefined();
    void waiting;
  }, 90_000);

  it("the queue's endpoint counts its requests and replies", async () => {
    const queue = start(["queue", "--frontend", ANY, "--backend", ANY, "--heartbeat-interval", "250", "--metrics", "127.0.0.1:0"]);
    const url = (await queue.waitForMsg("metrics served")).url as string;
    const bound = await queue.waitForMsg("queue bound");
    start(["worker", "--protocol", "ppp", "--module", PPP, "--connect", bound.backend as string, "--heartbeat-interval", "250"]);
    await queue.waitForMsg("worker-ready");
    const client = new LazyPirateClient(bound.frontend as string, { timeout: 2000, retries: 2 });
    clients.push(client);
    for (let i = 0; i < 4; i++) await client.call(`${i}`);
    const text = await scrape(url);
    const labels = { pattern: "pirate", service: "" };
    expect(sample(text, "privateer_requests_received_total", labels)).toBe(4);
    expect(sample(text, "privateer_replies_sent_total", labels)).toBe(4);
    expect(sample(text, "privateer_workers", labels)).toBe(1);
    expect(sample(text, "privateer_queue_depth", labels)).toBe(0);
  }, 60_000);

  it("refuses a metrics address that is not loopback", async () => {
    const result = await runCli(outDir, ["broker", "--bind", ANY, "--metrics", "0.0.0.0:0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a loopback address");
  });
});
