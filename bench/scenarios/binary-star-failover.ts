/**
 * The Binary Star failover gap: a primary and a backup server, each in its
 * own process, a failover client in a third sending requests back to back;
 * the active primary is killed with SIGKILL and the client's replies resume
 * from the backup. One kill per round; the report takes the median.
 *
 * Two figures per kill: from the kill to the first reply served by the
 * backup (the headline), and the longest time with no reply at all (from
 * the last reply of the primary to the first of the backup).
 */
import { freePorts } from "../../test/helpers/free-address";
import { field } from "../harness/protocol";
import type { Role } from "../harness/role";
import { START_TIMEOUT_MS, type RunContext, type Scenario } from "../harness/scenario";

/** Imported on demand, as the Majordomo scenario does: other roles' peers must not load the patterns. */
const binaryStar = (): Promise<typeof import("../../patterns/binary-star")> => import("../../patterns/binary-star");

/** Settings of one variant: the server heartbeat and the client's reply timeout and settle delay. */
interface Settings {
  readonly heartbeat: number;
  readonly timeout: number;
  readonly settle: number;
}

/** The guide's defaults: 1,000 ms heartbeat, 1,000 ms request timeout, 2,000 ms settle delay. */
const DEFAULTS: Settings = { heartbeat: 1000, timeout: 1000, settle: 2000 };
/** Scaled to a 250 ms heartbeat: timeout one heartbeat, settle delay the peer window (2 heartbeats). */
const FAST: Settings = { heartbeat: 250, timeout: 250, settle: 500 };

/** How long any peer may live; a round takes a few seconds. */
const LIMIT_MS = 60_000;

export const roles: Record<string, Role> = {
  /**
   * One Binary Star server. Emits "ready" once started, then "active" or
   * "passive" as it settles; on the "die" command it SIGKILLs itself, so
   * nothing is closed cleanly: the kernel drops its connections, as when a
   * machine dies.
   */
  "bstar-server": async (ctx) => {
    const { BinaryStar } = await binaryStar();
    const role = ctx.str("role") === "backup" ? "backup" : "primary";
    const star = new BinaryStar({
      role,
      heartbeat: ctx.num("heartbeat"),
      endpoints: { frontend: ctx.str("frontend"), statePublisher: ctx.str("pub"), stateSubscriber: ctx.str("sub") },
    });
    star.requests$.subscribe((request) => void request.reply([role]));
    star.state$.subscribe((state) => {
      if (state === "active" || state === "passive") ctx.emit(state, { at: Date.now() });
    });
    await star.start();
    ctx.emit("ready");
    await ctx.command("die", ctx.num("limit"));
    process.kill(process.pid, "SIGKILL");
  },
  /**
   * A failover client sending one request after another. Emits "serving"
   * after the first reply from the primary and "failover" at the first
   * reply from the backup, with the wall-clock time of that reply and of
   * the primary's last one (both processes share the machine's clock).
   */
  "bstar-client": async (ctx) => {
    const { BinaryStarClient } = await binaryStar();
    const client = new BinaryStarClient([ctx.str("primary"), ctx.str("backup")], {
      timeout: ctx.num("timeout"),
      settleDelay: ctx.num("settle"),
      retries: 1000,
    });
    let lastPrimaryAt = 0;
    const deadline = Date.now() + ctx.num("limit");
    while (Date.now() < deadline) {
      const [from] = await client.call("ping");
      const at = Date.now();
      if (String(from) === "primary") {
        if (lastPrimaryAt === 0) ctx.emit("serving");
        lastPrimaryAt = at;
        continue;
      }
      ctx.emit("failover", { firstBackupAt: at, lastPrimaryAt });
      break;
    }
    await client.close();
    await ctx.command("stop", ctx.num("limit"));
  },
};

async function failover(ctx: RunContext, settings: Settings): Promise<{ value: number; extra: Record<string, number> }> {
  const [pf, pp, bf, bp] = (await freePorts(4)).map((port) => `tcp://127.0.0.1:${port}`);
  const common = { heartbeat: settings.heartbeat, limit: LIMIT_MS };
  const backup = ctx.peer("bstar-server", { ...common, role: "backup", frontend: bf!, pub: bp!, sub: pp! });
  const primary = ctx.peer("bstar-server", { ...common, role: "primary", frontend: pf!, pub: pp!, sub: bp! });
  await Promise.all([backup.next("ready", START_TIMEOUT_MS), primary.next("ready", START_TIMEOUT_MS)]);
  const settled = 2 * settings.heartbeat + START_TIMEOUT_MS;
  await Promise.all([primary.next("active", settled), backup.next("passive", settled)]);
  const client = ctx.peer("bstar-client", { primary: pf!, backup: bf!, timeout: settings.timeout, settle: settings.settle, limit: LIMIT_MS });
  await client.next("serving", START_TIMEOUT_MS);
  // Let the client run a little so the kill lands on a request in flight, as it would in production.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const killedAt = Date.now();
  primary.tell("die");
  const result = await client.next("failover", LIMIT_MS);
  const firstBackupAt = field(result, "firstBackupAt");
  return {
    value: firstBackupAt - killedAt,
    extra: { silentMs: firstBackupAt - field(result, "lastPrimaryAt") },
  };
}

function scenario(id: string, settings: Settings, title: string, goalMs?: number): Scenario {
  return {
    id,
    title,
    metric: { label: "kill → first reply from the backup", unit: "ms", better: "lower" },
    extras: { silentMs: { label: "no replies at all", unit: "ms" } },
    ...(goalMs === undefined
      ? {}
      : { target: { kind: "limit" as const, text: `under ${goalMs} ms`, met: (summary: { value: number }) => summary.value < goalMs } }),
    impls: ["privateer"],
    rounds: { full: 5, quick: 3 },
    inTable: true,
    measure: (ctx) => failover(ctx, settings),
  };
}

export const scenarios: readonly Scenario[] = [
  scenario(
    "binary-star-failover-default",
    DEFAULTS,
    "Binary Star failover gap, guide defaults (heartbeat 1,000 ms, timeout 1,000 ms, settle 2,000 ms)",
  ),
  scenario("binary-star-failover-250ms", FAST, "Binary Star failover gap, heartbeat 250 ms (timeout 250 ms, settle 500 ms)", 1000),
];
