/**
 * A throwaway PostgreSQL server for one test file: a fresh cluster in a
 * temporary folder, listening on 127.0.0.1 at a free port, trust auth, and
 * stopped and deleted afterwards. As root the programs run as the `postgres`
 * user (initdb refuses root); otherwise as the current user.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../helpers/free-address";
import { postgresBinDir } from "../../helpers/prerequisites";

export interface PostgresServer {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly user: "postgres";
  stop(): void;
}

function run(bin: string, program: string, args: string[], asPostgres: boolean): void {
  const command = join(bin, program);
  const result = asPostgres
    ? spawnSync("su", ["postgres", "-s", "/bin/sh", "-c", [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ")], { encoding: "utf8" })
    : spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stderr}${result.stdout}`);
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error("PostgreSQL's initdb was not found (apt-get install -y postgresql)");
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "privateer-pg-"));
  if (asPostgres) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  run(bin, "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], asPostgres);
  const port = await freePort();
  // fsync off: the cluster is thrown away, and durability is PostgreSQL's business, not what these tests check.
  run(bin, "pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`, "-w", "-t", "60", "start"], asPostgres);
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    stop() {
      try {
        run(bin, "pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"], asPostgres);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
