/**
 * The child-process protocol, shared by the Node peer and the C peer:
 *
 *   argv:   <role> key=value ...        (the Node peer takes the library first)
 *   stdout: one JSON object per line, always with an "event" field;
 *           {"event":"error","message":...} reports a failure
 *   stdin:  one command word per line (e.g. "go"); the parent stops a peer with SIGTERM
 *
 * Keeping it to lines of JSON lets a 30-line C helper speak it too.
 */

export type Scalar = string | number | boolean;
export type PeerLine = Readonly<Record<string, Scalar>>;
export type Params = Readonly<Record<string, Scalar>>;

export function encodeParams(params: Params): string[] {
  return Object.entries(params).map(([key, value]) => `${key}=${String(value)}`);
}

export function decodeParams(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new Error(`bad parameter "${arg}", expected key=value`);
    out[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return out;
}

/** Reads a numeric field of a peer's line, failing loudly when the peer did not send it. */
export function field(line: PeerLine, key: string): number {
  const value = line[key];
  if (typeof value !== "number") throw new Error(`peer line "${line.event}" lacks numeric field "${key}"`);
  return value;
}
