/**
 * .ci/prereqs on a machine it cannot install on: run as a real non-root user
 * (nobody, when these tests run as root), with a PATH of stubs that decides
 * the platform (uname, and dpkg-query/apt-get or their absence) and holds no
 * C compiler and no docker, so something is always missing. Outside CI it must
 * say what is missing with the platform's install command and exit 0; with CI
 * set the same run must fail.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const SCRIPT = path.resolve(__dirname, "..", "..", ".ci", "prereqs");

type Platform = "debian" | "macos" | "other";

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const stubDirs: string[] = [];
afterAll(() => {
  for (const dir of stubDirs) rmSync(dir, { recursive: true, force: true });
});

/** A directory of stub commands standing in for `platform`; apt-get only reports that it ran. */
function stubPath(platform: Platform): string {
  const dir = mkdtempSync(path.join(tmpdir(), "prereqs-stubs-"));
  stubDirs.push(dir);
  const stub = (name: string, body: string): void => {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  };
  stub("uname", `echo ${platform === "macos" ? "Darwin" : "Linux"}`);
  if (platform === "debian") {
    stub("dpkg-query", "exit 1");
    stub("apt-get", 'echo "apt-get stub ran: $*" >&2; exit 0');
  }
  // The unprivileged user must be able to list and run the stubs.
  chmodSync(dir, 0o755);
  return dir;
}

// Resolved on the real PATH: the runs below get a PATH of stubs only.
const SETPRIV = spawnSync("/bin/sh", ["-c", "command -v setpriv"], { encoding: "utf8" }).stdout.trim();
const asRoot = process.getuid?.() === 0;

/** argv that runs `argv` as nobody when the tests run as root, else as is (already unprivileged). */
function unprivileged(argv: string[]): [string, string[]] {
  if (!asRoot) return [argv[0]!, argv.slice(1)];
  if (SETPRIV === "") throw new Error("these tests run as root and need setpriv (util-linux) to drop to nobody");
  return [SETPRIV, ["--reuid=nobody", "--regid=nogroup", "--clear-groups", ...argv]];
}

function runPrereqs(platform: Platform, ci: boolean): Run {
  const env: Record<string, string> = { PATH: stubPath(platform), HOME: tmpdir() };
  if (ci) env.CI = "1";
  const [command, args] = unprivileged(["/bin/bash", SCRIPT]);
  const run = spawnSync(command, args, { env, encoding: "utf8", timeout: 30_000 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe(".ci/prereqs without dpkg or without root", () => {
  it("is run by an unprivileged user in these tests", () => {
    const [command, args] = unprivileged(["/bin/sh", "-c", "id -u"]);
    const run = spawnSync(command, args, { encoding: "utf8" });
    expect(run.stdout.trim()).not.toBe("0");
  });

  it("on a Linux without dpkg: lists what is missing with install hints and exits 0", () => {
    const run = runPrereqs("other", false);
    expect(run.stdout).toContain("cannot install what is missing (no dpkg/apt-get (other)); the suites that need it will be skipped:");
    expect(run.stderr).toContain(
      "    missing zmq.h and a C compiler (native baseline of npm run bench)\n" +
        "      install: install libzmq's development headers (zmq.h) and a C compiler\n",
    );
    expect(run.stderr).toContain("    missing a running Docker engine (chaos suite)\n      install: install Docker and start its engine\n");
    expect(run.status).toBe(0);
  });

  it("on macOS: gives the brew and Docker Desktop commands and exits 0", () => {
    const run = runPrereqs("macos", false);
    expect(run.stdout).toContain("cannot install what is missing (no dpkg/apt-get (macos))");
    expect(run.stderr).toContain("install: brew install zeromq (and xcode-select --install for a C compiler)\n");
    expect(run.stderr).toContain("install: install and start Docker Desktop (brew install --cask docker)\n");
    expect(run.status).toBe(0);
  });

  it("on Debian as a non-root user: does not call apt-get, gives the apt-get command and exits 0", () => {
    const run = runPrereqs("debian", false);
    expect(run.stdout).toContain("cannot install what is missing (not root and no passwordless sudo)");
    expect(run.stderr).toContain("install: apt-get install -y libzmq3-dev gcc\n");
    expect(run.stderr).toContain("install: apt-get install -y docker.io, then start it as root: dockerd --bridge=none --iptables=false &\n");
    expect(run.stderr).not.toContain("apt-get stub ran");
    expect(run.status).toBe(0);
  });

  it.each(["other", "macos", "debian"] as const)("with CI set, the same run on %s fails: CI skips nothing", (platform) => {
    const run = runPrereqs(platform, true);
    expect(run.stderr).toContain("error: CI is set, so every suite must run, but these are missing:");
    expect(run.stderr).toContain("missing a running Docker engine (chaos suite)");
    expect(run.stderr).not.toContain("apt-get stub ran");
    expect(run.status).toBe(1);
  });
});
