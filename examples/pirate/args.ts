/** Tiny argv reader shared by the Pirate examples: `--name value` pairs and bare `--flag`s. */
export function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Runs `stop` on Ctrl-C or SIGTERM so sockets close and the process exits by itself. */
export function onShutdown(stop: () => void): void {
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
