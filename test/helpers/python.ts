import * as path from "node:path";
import { PeerProcess } from "./peer-process";
import { PYTHON } from "./prerequisites";

/** The pyzmq peers of the pattern suites (Pirate, Majordomo). */
export const PATTERN_PEERS = path.join(__dirname, "..", "patterns", "peers");
/** The pyzmq peers of the interop suites (PLAIN, CURVE), which print one JSON report a line. */
export const INTEROP_PEERS = path.join(__dirname, "..", "interop", "peers");

/**
 * A Python script in a child process: the one runner every suite with a
 * pyzmq peer uses (test/interop/helpers/pyzmq-driver.ts is the other kind of
 * Python process, a long-lived command server). Peers that print text lines
 * are read with waitFor and matching, peers that print JSON reports with next.
 */
export class PythonPeer extends PeerProcess {
  /** Reports next() has handed out: it reads stdout in order, one line a call. */
  private reports = 0;

  /**
   * Runs `script` (a path) with Debian's interpreter, the one python3-zmq is
   * installed for, from the script's own folder so it finds the modules beside it.
   * Unbuffered (-u), so a line can be awaited as soon as the script prints it.
   */
  constructor(script: string, args: readonly string[]) {
    super(PYTHON, ["-u", script, ...args], { cwd: path.dirname(script) });
  }

  /** Resolves with the first line (already printed or to come) starting with `prefix`, after `skip` earlier matches. */
  waitFor(prefix: string, ms = 10000, skip = 0): Promise<string> {
    return this.waitForLine((line) => line.startsWith(prefix), `"${prefix}" line`, ms, skip);
  }

  /** Lines starting with `prefix`. */
  matching(prefix: string): string[] {
    return this.lines.filter((line) => line.startsWith(prefix));
  }

  /** The next report not read yet, one JSON object a line; rejects if the script ends first. */
  async next<T>(ms = 30000): Promise<T> {
    const line = await this.waitForLine(() => true, "a report", ms, this.reports);
    this.reports++;
    return JSON.parse(line) as T;
  }
}

/** Starts Python peers from one folder and kills them all in afterEach. */
export class PythonPeers {
  private readonly all: PythonPeer[] = [];

  constructor(private readonly folder = PATTERN_PEERS) {}

  start(script: string, args: readonly string[]): PythonPeer {
    const peer = new PythonPeer(path.join(this.folder, script), args);
    this.all.push(peer);
    return peer;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((peer) => peer.kill("SIGKILL")));
  }
}
