import * as path from "node:path";
import { PeerProcess } from "./peer-process";

const PEERS = path.join(__dirname, "..", "peers");

/** A pyzmq peer from test/patterns/peers, speaking in plain-text lines. */
export class PythonPeer extends PeerProcess {
  constructor(script: string, args: string[]) {
    super("/usr/bin/python3", [path.join(PEERS, script), ...args], { cwd: PEERS });
  }

  /** Resolves with the first line (already printed or to come) starting with `prefix`, after `skip` earlier matches. */
  waitFor(prefix: string, ms = 10000, skip = 0): Promise<string> {
    return this.waitForLine((line) => line.startsWith(prefix), `"${prefix}" line`, ms, skip);
  }

  /** Lines starting with `prefix`. */
  matching(prefix: string): string[] {
    return this.lines.filter((line) => line.startsWith(prefix));
  }
}

/** Tracks spawned peers so afterEach can kill them all. */
export class Peers {
  private readonly all: PythonPeer[] = [];
  start(script: string, args: string[]): PythonPeer {
    const peer = new PythonPeer(script, args);
    this.all.push(peer);
    return peer;
  }
  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((peer) => peer.kill("SIGKILL")));
  }
}
