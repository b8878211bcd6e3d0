/**
 * The end-of-run list of suites skipped for a missing peer: a jest of its own
 * runs a fixture with one suite whose peer is absent, through the reporters
 * jest.config.js declares, once without CI (skipped and listed with the install
 * command) and once with CI set (not skipped: its tests run and fail).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { installCommand } from "../helpers/prerequisites";
import { ABSENT_PEER } from "../helpers/fixtures/absent-peer";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURE = "test/helpers/fixtures/absent-peer.fixture.ts";

interface Run {
  readonly status: number | null;
  readonly stderr: string;
}

function runFixture(ci: boolean): Promise<Run> {
  const projectConfig = require(path.join(ROOT, "jest.config.js")) as { reporters: unknown };
  const config = {
    rootDir: ROOT,
    testEnvironment: "node",
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
    testMatch: [`<rootDir>/${FIXTURE}`],
    // The project's own reporter list, so this also proves jest.config.js wires the summary in.
    reporters: projectConfig.reporters,
  };
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CI;
  if (ci) env.CI = "1";
  const child = spawn(process.execPath, [require.resolve("jest/bin/jest"), "--config", JSON.stringify(config), "--runInBand"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

describe("the skipped-suites summary at the end of a jest run", () => {
  // Both runs at once: each is a whole jest start-up.
  let outside: Run;
  let underCi: Run;
  beforeAll(async () => {
    [outside, underCi] = await Promise.all([runFixture(false), runFixture(true)]);
  }, 90_000);

  it("outside CI, skips the suite whose peer is missing and lists it with the reason and install command", () => {
    const { status, stderr } = outside;
    expect(stderr).toContain("Skipped: these suites need a peer that is missing here (CI runs them all):");
    expect(stderr).toContain("  absent-peer: absent-peer is never installed\n");
    expect(stderr).toContain(`    install: ${installCommand(ABSENT_PEER)}\n`);
    expect(stderr).toContain(`    ${FIXTURE}: 2 tests skipped in "needs the absent peer"\n`);
    // The suite that needs nothing ran and is not listed; skipped suites do not fail the run.
    expect(stderr).not.toContain('"needs nothing"');
    expect(stderr).toMatch(/Tests:\s+2 skipped, 1 passed, 3 total/);
    expect(status).toBe(0);
  });

  it("with CI set, skips nothing: the suite runs and fails, and the summary names the missing peer", () => {
    const { status, stderr } = underCi;
    expect(stderr).toContain("the peer is not there");
    expect(stderr).toMatch(/Tests:\s+2 failed, 1 passed, 3 total/);
    expect(stderr).toContain("CI is set, so no suite was skipped, but these ran without the peer they need");
    expect(stderr).toContain(`    ${FIXTURE}\n`);
    expect(status).not.toBe(0);
  });
});
