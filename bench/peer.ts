/**
 * Entry point of a benchmark child process:
 *   node peer.js <privateer|zeromq.js|stub> <role> key=value ...
 * It plays one role (see scenarios/) and speaks the line protocol of
 * harness/protocol.ts on stdout.
 */
import { loadLib, type BenchLib, type NodeLibName } from "./harness/lib";
import { decodeParams } from "./harness/protocol";
import { command, emit, type RoleContext } from "./harness/role";
import { roles } from "./scenarios";

/** Whatever happens, a peer never outlives a forgotten parent by long. */
const HARD_LIMIT_MS = 180_000;

async function main(): Promise<void> {
  const [libName, roleName, ...rest] = process.argv.slice(2);
  const role = roleName === undefined ? undefined : roles[roleName];
  if (!libName || !role) throw new Error(`usage: peer.js <privateer|zeromq.js|stub> <role> key=value... (role ${roleName})`);
  const params = decodeParams(rest);
  const lib: BenchLib | undefined = libName === "stub" ? undefined : await loadLib(libName as NodeLibName);
  const ctx: RoleContext = {
    lib: () => {
      if (!lib) throw new Error(`role ${roleName} needs a library`);
      return lib;
    },
    num: (key, fallback) => {
      const raw = params[key];
      if (raw === undefined && fallback !== undefined) return fallback;
      const value = Number(raw);
      if (raw === undefined || !Number.isFinite(value)) throw new Error(`role ${roleName}: numeric parameter "${key}" missing`);
      return value;
    },
    str: (key, fallback) => {
      const raw = params[key] ?? fallback;
      if (raw === undefined) throw new Error(`role ${roleName}: parameter "${key}" missing`);
      return raw;
    },
    emit,
    command,
  };
  await role(ctx);
}

// process.exit (not the default SIGTERM death) runs exit hooks, so --cpu-prof gets written.
process.on("SIGTERM", () => process.exit(0));
setTimeout(() => process.exit(2), HARD_LIMIT_MS).unref();

main().catch((error: unknown) => {
  emit("error", { message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
