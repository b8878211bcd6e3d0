import { Router } from "../../../src";
import { BinaryStarClient, BinaryStarError, type BinaryStarClientConfig } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";
import { advanceBy, virtualScheduler } from "../../helpers/clock";

const ANY = "tcp://127.0.0.1:*";
const PAIR_MESSAGE = "a Binary Star client needs exactly two endpoints: [primary, backup]";

/** Two bound ROUTERs that never answer: the client's only way out is its own timers and failovers. */
async function silentPair(): Promise<{ servers: Router[]; endpoints: [string, string] }> {
  const servers = [new Router(), new Router()];
  for (const server of servers) await server.bind(ANY);
  return { servers, endpoints: [servers[0]!.lastEndpoint!, servers[1]!.lastEndpoint!] };
}

/** Events as "time:type:server-or-target" lines over 10 virtual seconds of silence. */
async function silentTimeline(make: (endpoints: [string, string], scheduler: ReturnType<typeof virtualScheduler>) => BinaryStarClient): Promise<string[]> {
  const { servers, endpoints } = await silentPair();
  const scheduler = virtualScheduler();
  const client = make(endpoints, scheduler);
  expect(client.endpoints).toEqual(endpoints);
  expect(client.currentServer).toBe("primary");
  const timeline: string[] = [];
  client.events$.subscribe((e) => {
    const where = "server" in e ? e.server : e.type === "failover" ? e.to : "-";
    timeline.push(`${scheduler.now()}:${e.type}:${where}`);
  });
  let failure: unknown;
  client.request("anyone?").subscribe({ error: (error: unknown) => (failure = error) });
  advanceBy(scheduler, 10000);
  expect(failure).toBeInstanceOf(BinaryStarError);
  expect(failure).toMatchObject({ reason: "timeout" });
  await client.close();
  closeAll(...servers);
  return timeline;
}

describe("BinaryStarClient constructor forms", () => {
  it("takes one options object with the endpoints in it, and applies every option given there (virtual time)", async () => {
    // Not the defaults (1000 ms timeout, 2000 ms settle delay, 5 retries): ignored options would change every line.
    const timeline = await silentTimeline(
      (endpoints, scheduler) => new BinaryStarClient({ endpoints, timeout: 300, settleDelay: 500, retries: 1, scheduler }),
    );
    expect(timeline).toEqual([
      "0:request-sent:primary",
      "300:timeout:primary",
      "300:failover:backup",
      "800:request-sent:backup",
      "1100:timeout:backup",
      "1100:gave-up:-",
      "10000:close:-",
    ]);
  });

  it("behaves exactly as the positional shorthand with the same options (virtual time)", async () => {
    const options = { timeout: 400, settleDelay: 100, attemptsPerServer: 2, retries: 3 };
    const positional = await silentTimeline((endpoints, scheduler) => new BinaryStarClient(endpoints, { ...options, scheduler }));
    const config = (endpoints: [string, string], scheduler: ReturnType<typeof virtualScheduler>): BinaryStarClientConfig => ({
      endpoints,
      ...options,
      scheduler,
    });
    const object = await silentTimeline((endpoints, scheduler) => new BinaryStarClient(config(endpoints, scheduler)));
    expect(object).toEqual(positional);
    // Two attempts at each server (attemptsPerServer), a settle delay between them.
    expect(object.filter((line) => line.includes(":request-sent:"))).toEqual([
      "0:request-sent:primary",
      "400:request-sent:primary",
      "900:request-sent:backup",
      "1300:request-sent:backup",
    ]);
  });

  it("validates the object form with the positional form's rules and message", () => {
    const pair = expect.objectContaining({ code: "EINVAL", message: PAIR_MESSAGE });
    expect(() => new BinaryStarClient({ endpoints: ["tcp://127.0.0.1:1"] } as unknown as BinaryStarClientConfig)).toThrow(pair);
    expect(() => new BinaryStarClient({} as BinaryStarClientConfig)).toThrow(pair);
    expect(() => new BinaryStarClient({ endpoints: ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"], settleDelay: -1 })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    // The positional form still refuses what it refused before.
    expect(() => new BinaryStarClient("tcp://127.0.0.1:1" as unknown as [string, string])).toThrow(pair);
    expect(() => new BinaryStarClient(["tcp://127.0.0.1:1", ""])).toThrow(pair);
  });
});
