/**
 * The Docker launcher of the exactly-once suite on its own, with the older
 * chaos nodes (a Majordomo broker and worker) so it is checked before the
 * scenario runs on it: a node is READY only once it says so, the run folder is
 * the same path inside and out and writable, pause freezes the node until
 * resume, kill ends it, a node that dies at start rejects, and removeAll leaves
 * no container behind. Skipped without Docker, never under CI=true.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstValueFrom } from "rxjs";
import { MajordomoClient, MajordomoError } from "../patterns/majordomo";
import { compileNodes, dockerAvailable } from "./lib/build";
import { buildImage, freePorts } from "./lib/cluster";
import { DockerLauncher } from "./lib/exactly-once/docker-launcher";
import { DOCKER, recordMissingPeer } from "../test/helpers/prerequisites";

const haveDocker = dockerAvailable();
if (!haveDocker) recordMissingPeer(DOCKER, "no Docker engine answers `docker info`");
const suite = haveDocker || process.env.CI ? describe : describe.skip;

const TIMING = { heartbeatMs: 250, liveness: 4 };
// 200 or 404 depending on whether the worker has (re)registered yet: either way, the broker ran to answer.
const MMI_ANSWER = /^(200|404)$/;

suite("DockerLauncher (exactly-once chaos suite)", () => {
  const runId = `eo-launcher-${process.pid}-${Date.now()}`;
  let runDir: string;
  let launcher: DockerLauncher;
  let port: number;
  const clients: MajordomoClient[] = [];

  const containersOfRun = (): string[] =>
    execFileSync("docker", ["ps", "--all", "--quiet", "--filter", `label=privateer.chaos.run=${runId}`], { encoding: "utf8" })
      .split("\n")
      .filter((id) => id.trim() !== "");

  /** An MMI lookup the broker answers itself: it answers only when the broker process runs. */
  const askBroker = (timeout: number): Promise<string> => {
    const client = new MajordomoClient({ broker: `tcp://127.0.0.1:${port}`, timeout, retries: 0 });
    clients.push(client);
    return firstValueFrom(client.request("mmi.service", ["chaos.echo"])).then((reply) => reply[0]!.toString());
  };

  beforeAll(async () => {
    if (!haveDocker) throw new Error("no Docker engine answers `docker info` (docs/chaos.md)");
    compileNodes(["mdp-broker.js", "mdp-worker.js"]);
    await buildImage();
    runDir = mkdtempSync(join(tmpdir(), "privateer-eo-launcher-"));
    launcher = new DockerLauncher({ runId, runDir });
    [port] = (await freePorts(1)) as [number];
  }, 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await launcher?.removeAll();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }, 60_000);

  it("starts, freezes, thaws and kills containers, and removes them all", async () => {
    const broker = await launcher.start({
      name: "broker",
      script: "mdp-broker.js",
      env: brokerEnv(port),
    });
    expect(broker.lines().some((line) => line.startsWith("READY broker"))).toBe(true);

    // The run folder is mounted at its own path: the worker writes its effects file there.
    const worker = await launcher.start({
      name: "worker",
      script: "mdp-worker.js",
      env: {
        CHAOS_NAME: "worker",
        CHAOS_BROKER: `tcp://127.0.0.1:${port}`,
        CHAOS_SERVICE: "chaos.echo",
        CHAOS_EFFECTS_DIR: runDir,
        CHAOS_WORK_MS: "1",
        CHAOS_HEARTBEAT_MS: String(TIMING.heartbeatMs),
        CHAOS_LIVENESS: String(TIMING.liveness),
        CHAOS_RECONNECT_MS: "250",
      },
    });
    const echo = new MajordomoClient({ broker: `tcp://127.0.0.1:${port}`, timeout: 10_000, retries: 2 });
    clients.push(echo);
    const reply = await firstValueFrom(echo.request("chaos.echo", ["req-1"]));
    expect(reply[0]!.toString()).toBe("req-1");
    expect(readFileSync(join(runDir, "worker.effects"), "utf8")).toBe("req-1 worker 1\n");

    // Frozen: the broker keeps its socket but answers nothing; thawed, it answers again.
    await broker.pause();
    await expect(askBroker(1500)).rejects.toBeInstanceOf(MajordomoError);
    await broker.resume();
    expect(await askBroker(10_000)).toMatch(MMI_ANSWER);

    // SIGKILL of a frozen container: it ends (exit reported as null, a signal) without being thawed by us.
    await broker.pause();
    await broker.kill();
    expect(await broker.exited).toBeNull();
    await expect(askBroker(1500)).rejects.toBeInstanceOf(MajordomoError);

    // The same name again is a new container (a restart), on the same port.
    const again = await launcher.start({ name: "broker", script: "mdp-broker.js", env: brokerEnv(port) });
    expect(await askBroker(10_000)).toMatch(MMI_ANSWER);
    expect(containersOfRun()).toHaveLength(3);

    await launcher.removeAll();
    expect(await again.exited).toBeNull();
    expect(await worker.exited).toBeNull();
    expect(containersOfRun()).toEqual([]);
    await launcher.removeAll(); // twice is fine
    // Each container's output was teed to its own file, named after the container.
    const brokerLog = readdirSync(join(runDir, "containers")).find((file) => file.endsWith("-broker-1.log"));
    expect(readFileSync(join(runDir, "containers", brokerLog ?? "missing"), "utf8")).toMatch(/^READY broker broker /m);
  }, 120_000);

  it("rejects a start when the node exits before READY, and says why", async () => {
    // No CHAOS_PORT: the broker's env check throws and it exits 1.
    const { CHAOS_PORT: _omitted, ...env } = brokerEnv(port);
    await expect(launcher.start({ name: "broken", script: "mdp-broker.js", env })).rejects.toThrow(
      /broken .* exited \(1\) before READY: .*CHAOS_PORT is not set/s,
    );
    await launcher.removeAll();
    expect(containersOfRun()).toEqual([]);
  }, 60_000);
});

function brokerEnv(port: number): Record<string, string> {
  return {
    CHAOS_NAME: "broker",
    CHAOS_PORT: String(port),
    CHAOS_HEARTBEAT_MS: String(TIMING.heartbeatMs),
    CHAOS_LIVENESS: String(TIMING.liveness),
    CHAOS_REQUEST_TIMEOUT_MS: "10000",
  };
}
