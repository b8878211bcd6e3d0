import { Router } from "../../../src";
import { LazyPirateClient, PirateError, type LazyPirateClientConfig } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";
import { advanceBy, virtualScheduler } from "../../helpers/clock";

const ANY = "tcp://127.0.0.1:*";

/** The client's events against a server that never answers, as "time:type" lines, over 10 virtual seconds. */
async function silentTimeline(make: (endpoint: string, scheduler: ReturnType<typeof virtualScheduler>) => LazyPirateClient): Promise<string[]> {
  const server = new Router();
  await server.bind(ANY);
  const scheduler = virtualScheduler();
  const client = make(server.lastEndpoint!, scheduler);
  const timeline: string[] = [];
  client.events$.subscribe((e) => timeline.push(`${scheduler.now()}:${e.type}`));
  let failure: unknown;
  client.request("anyone?").subscribe({ error: (error: unknown) => (failure = error) });
  advanceBy(scheduler, 10000);
  expect(failure).toMatchObject({ reason: "timeout" });
  await client.close();
  closeAll(server);
  return timeline;
}

describe("LazyPirateClient constructor forms", () => {
  it("takes one options object with the endpoints in it, and applies every option given there (virtual time)", async () => {
    // Not the defaults (2500 ms, 3 retries): a form that dropped the options would show 2500-ms steps and four attempts.
    const timeline = await silentTimeline(
      (endpoint, scheduler) => new LazyPirateClient({ endpoints: endpoint, timeout: 1000, retries: 1, scheduler }),
    );
    expect(timeline).toEqual(["0:request-sent", "1000:retry", "1000:reconnect", "1000:request-sent", "2000:gave-up", "10000:close"]);
  });

  it("behaves exactly as the positional shorthand with the same options (virtual time)", async () => {
    const positional = await silentTimeline((endpoint, scheduler) => new LazyPirateClient(endpoint, { timeout: 700, retries: 2, scheduler }));
    const object = await silentTimeline((endpoint, scheduler) => new LazyPirateClient({ endpoints: [endpoint], timeout: 700, retries: 2, scheduler }));
    expect(object).toEqual(positional);
    expect(object.filter((line) => line.endsWith(":request-sent"))).toEqual(["0:request-sent", "700:request-sent", "1400:request-sent"]);
  });

  it("connects to the endpoints of the object form and exposes the settings", async () => {
    const server = new Router();
    await server.bind(ANY);
    server.messages$.subscribe(([peer, delimiter, body]) => void server.send([peer!, delimiter!, "echo", body!]));
    const config: LazyPirateClientConfig = { endpoints: [server.lastEndpoint!], timeout: 5000, retries: 0 };
    const client = new LazyPirateClient(config);
    try {
      expect(client.endpoints).toEqual([server.lastEndpoint]);
      expect(client.timeout).toBe(5000);
      expect(client.retries).toBe(0);
      expect((await client.call("hi")).map(String)).toEqual(["echo", "hi"]);
    } finally {
      await client.close();
      closeAll(server);
    }
  });

  it("validates the object form with the positional form's rules", () => {
    const invalid = expect.objectContaining({ code: "EINVAL" });
    expect(() => new LazyPirateClient({ endpoints: [] })).toThrow(invalid);
    expect(() => new LazyPirateClient({ endpoints: [] })).toThrow(PirateError);
    expect(() => new LazyPirateClient({ endpoints: "tcp://127.0.0.1:1", timeout: 0 })).toThrow(invalid);
    expect(() => new LazyPirateClient({ endpoints: "tcp://127.0.0.1:1", retries: -1 })).toThrow(invalid);
    // A JavaScript caller that forgets the endpoints gets the same typed error, not a TypeError.
    expect(() => new LazyPirateClient({} as LazyPirateClientConfig)).toThrow(PirateError);
  });
});
