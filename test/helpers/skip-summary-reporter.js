// A jest reporter: at the end of the run, lists the suites skipped because a
// peer outside npm is missing (records written by test/helpers/prerequisites.ts),
// with the reason and the command that installs it. Under CI nothing skips, so
// it names the missing peer behind the failures instead.
// Plain JavaScript because jest loads reporters without the ts-jest transform.
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

// Same name as SKIP_LOG_ENV in prerequisites.ts.
const SKIP_LOG_ENV = "PRIVATEER_SKIP_LOG";

class SkipSummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.dir = undefined;
  }

  // Runs before the test workers start, so they inherit the variable.
  onRunStart() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "privateer-skips-"));
    process.env[SKIP_LOG_ENV] = path.join(this.dir, "skips.jsonl");
  }

  onRunComplete(_contexts, results) {
    const log = process.env[SKIP_LOG_ENV];
    let text = "";
    try {
      text = fs.readFileSync(log, "utf8");
    } catch {
      // No suite lacked a peer.
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    const lines = text.split("\n").filter((line) => line !== "");
    if (lines.length === 0) return;

    // peer name -> { reason, install, ci, files: Set }
    const byPeer = new Map();
    for (const line of lines) {
      const record = JSON.parse(line);
      const entry = byPeer.get(record.peer) ?? { reason: record.reason, install: record.install, ci: record.ci, files: new Set() };
      entry.files.add(record.file);
      byPeer.set(record.peer, entry);
    }

    const ci = [...byPeer.values()].some((entry) => entry.ci);
    const out = [
      "",
      ci
        ? "CI is set, so no suite was skipped, but these ran without the peer they need (expect their failures above):"
        : "Skipped: these suites need a peer that is missing here (CI runs them all):",
    ];
    for (const [peer, entry] of byPeer) {
      out.push(`  ${peer}: ${entry.reason}`);
      out.push(`    install: ${entry.install}`);
      for (const file of [...entry.files].sort()) {
        const result = results.testResults.find((r) => r.testFilePath === file);
        const pending = (result?.testResults ?? []).filter((t) => t.status === "pending");
        const suites = [...new Set(pending.map((t) => t.ancestorTitles[0] ?? t.title))];
        const where = path.relative(this.rootDir, file);
        out.push(
          ci
            ? `    ${where}`
            : `    ${where}: ${pending.length} test${pending.length === 1 ? "" : "s"} skipped in ${suites.map((s) => JSON.stringify(s)).join(", ")}`,
        );
      }
    }
    process.stderr.write(`${out.join("\n")}\n`);
  }
}

module.exports = SkipSummaryReporter;
