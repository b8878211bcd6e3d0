import { PeerProcess as LineProcess } from "../../test/helpers/peer-process";
import type { PeerLine } from "./protocol";

/** A protocol line, or undefined for stray output (a library warning), which is not part of the protocol. */
function parse(raw: string): PeerLine | undefined {
  try {
    return JSON.parse(raw) as PeerLine;
  } catch {
    return undefined;
  }
}

/**
 * A running peer seen from the orchestrating process: its stdout lines
 * arrive in order and are matched to `next()` calls by event name, so a
 * scenario reads like the conversation it has with its peers. A line with
 * event "error" fails every wait, then and later. The process itself is
 * the tests' child-process wrapper (test/helpers/peer-process.ts).
 */
export class PeerProcess extends LineProcess {
  /** Indexes of the lines next() has handed out: each is read once. */
  private readonly taken = new Set<number>();

  constructor(label: string, command: string, args: readonly string[]) {
    super(command, args, { label });
  }

  /** The next line carrying `event`, skipping none: lines queue until asked for. */
  async next(event: string, timeoutMs: number): Promise<PeerLine> {
    let index = -1;
    const raw = await this.waitForLine(
      (line, at) => {
        if (this.taken.has(at)) return false;
        const parsed = parse(line);
        if (parsed?.event !== event && parsed?.event !== "error") return false;
        index = at;
        return true;
      },
      `"${event}"`,
      timeoutMs,
    );
    const line = parse(raw)!;
    if (line.event === "error") {
      const error = new Error(`${this.label}: ${String(line.message)}${this.stderrSuffix()}`);
      this.fail(error);
      throw error;
    }
    this.taken.add(index);
    return line;
  }

  /** Sends a one-word command to the peer's stdin. */
  tell(command: string): void {
    this.send(command);
  }
}
