/**
 * Suites that talk to a program outside npm (pyzmq, a Docker engine, PostgreSQL) declare
 * it here. Outside CI a missing peer skips those suites and records why, and
 * the skip-summary reporter (test/helpers/skip-summary-reporter.js) lists them
 * with the install command at the end of the run. With CI set nothing skips: a
 * missing peer makes its suites fail, and the summary says which peer caused it.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readdirSync } from "node:fs";

/** A program or service outside npm that some suites need. */
export interface Peer {
  /** Short name used in the end-of-run summary. */
  readonly name: string;
  /** Why the peer cannot be used on this machine, or null when it can. */
  probe(): string | null;
  /** The command that installs (or starts) it. */
  readonly install: { readonly debian: string; readonly macos: string };
}

/** One line of the skip log: a test file whose suites lack `peer`. */
export interface SkipRecord {
  readonly peer: string;
  readonly file: string;
  readonly reason: string;
  readonly install: string;
  /** True when CI was set, so the suites ran (and fail) instead of skipping. */
  readonly ci: boolean;
}

/** The reporter names the log file in this variable before any test file loads. */
export const SKIP_LOG_ENV = "PRIVATEER_SKIP_LOG";

/** Debian's interpreter: python3-zmq installs for it, not for whichever python3 comes first on PATH. */
export const PYTHON = "/usr/bin/python3";

const firstLine = (text: string | undefined): string => (text ?? "").trim().split("\n").pop() ?? "";

/** libzmq through Python's zmq module, for the interop suites and the Python pattern peers. */
export const PYZMQ: Peer = {
  name: "pyzmq",
  probe() {
    const run = spawnSync(PYTHON, ["-c", "import zmq"], { encoding: "utf8", timeout: 15_000 });
    if (run.status === 0) return null;
    return `${PYTHON} -c "import zmq" failed: ${run.error?.message ?? (firstLine(run.stderr) || `exit ${run.status}`)}`;
  },
  install: { debian: "apt-get install -y python3-zmq", macos: `${PYTHON} -m pip install --user pyzmq` },
};

/** A Docker engine that answers `docker info`, for the chaos suite. */
export const DOCKER: Peer = {
  name: "docker",
  probe() {
    const run = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 15_000 });
    if (run.status === 0 && run.stdout.trim() !== "") return null;
    return `docker info failed: ${run.error?.message ?? (firstLine(run.stderr) || `exit ${run.status}`)}`;
  },
  install: {
    debian: "apt-get install -y docker.io && dockerd --bridge=none --iptables=false & (as root; see docs/chaos.md)",
    macos: "install and start Docker Desktop (brew install --cask docker)",
  },
};

/**
 * PostgreSQL's server programs (initdb, pg_ctl), for the exactly-once store
 * suite, which starts a throwaway server of its own (test/patterns/exactly-once/postgres-server.ts).
 */
export const POSTGRES: Peer = {
  name: "postgresql",
  probe() {
    if (postgresBinDir() !== null) return null;
    return "no initdb in /usr/lib/postgresql/*/bin or on PATH";
  },
  install: { debian: "apt-get install -y postgresql", macos: "brew install postgresql@15" },
};

/** The folder holding initdb and pg_ctl: Debian's versioned one (newest first), else the one on PATH. */
export function postgresBinDir(): string | null {
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name) && existsSync(`${debian}/${name}/bin/initdb`))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return `${debian}/${versions[0]}/bin`;
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  const found = which.status === 0 ? which.stdout.trim() : "";
  return found === "" ? null : found.slice(0, found.lastIndexOf("/"));
}

/** CI runs every suite; the same test as chaos/lib/suite.ts and .ci/prereqs. */
export const inCi = (): boolean => Boolean(process.env.CI);

/** The install command for this platform; both when it is neither macOS nor Debian-like. */
export function installCommand(peer: Peer): string {
  if (process.platform === "darwin") return peer.install.macos;
  if (existsSync("/usr/bin/dpkg")) return peer.install.debian;
  return `${peer.install.debian} (Debian) or ${peer.install.macos} (macOS)`;
}

// Probes spawn processes, so each runs at most once per test file.
const probed = new Map<Peer, string | null>();
function missingReason(peer: Peer): string | null {
  if (!probed.has(peer)) probed.set(peer, peer.probe());
  return probed.get(peer)!;
}

/**
 * Writes a skip record for the running test file. Call it where a suite is
 * skipped (or, under CI, run) for lack of `peer`; describeIfPeer does.
 */
export function recordMissingPeer(peer: Peer, reason: string): void {
  const record: SkipRecord = {
    peer: peer.name,
    file: expect.getState().testPath ?? "(unknown test file)",
    reason,
    install: installCommand(peer),
    ci: inCi(),
  };
  const log = process.env[SKIP_LOG_ENV];
  if (log) appendFileSync(log, `${JSON.stringify(record)}\n`);
  // Without the reporter (a custom --reporters list) the reason would be lost; say it here instead.
  else process.stderr.write(`${record.file}: ${record.ci ? "running" : "skipping"} suites without ${peer.name}: ${reason}; install: ${record.install}\n`);
}

/**
 * `describe` when `peer` is present; otherwise `describe.skip` outside CI and
 * `describe` under CI (where the suites then fail), with the miss recorded for
 * the end-of-run summary either way. Works with `.each` like `describe`.
 */
export function describeIfPeer(peer: Peer): jest.Describe {
  const reason = missingReason(peer);
  if (reason === null) return describe;
  recordMissingPeer(peer, reason);
  return inCi() ? describe : describe.skip;
}
