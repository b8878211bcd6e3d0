import { firstValueFrom } from "rxjs";
import { Router } from "../../../src";
import { ParanoidPirateWorker, PirateError, SimplePirateWorker, type ParanoidPirateWorkerConfig } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";

/*
 * The Pirate workers take the Majordomo worker's constructor shape too: one
 * options object with the endpoint in it. Both forms must configure the
 * worker alike; the object form checks that the endpoint is there.
 */

const ANY = "tcp://127.0.0.1:*";

describe("Pirate worker constructor forms", () => {
  let fakeQueue: Router;
  beforeEach(async () => {
    fakeQueue = new Router();
    await fakeQueue.bind(ANY);
  });
  afterEach(() => closeAll(fakeQueue));

  it.each([
    ["ParanoidPirateWorker", (endpoint: string) => new ParanoidPirateWorker({ endpoint, routingId: "p1", heartbeatInterval: 5000 })],
    ["SimplePirateWorker", (endpoint: string) => new SimplePirateWorker({ endpoint, routingId: "s1" })],
  ])("%s: the object form connects to its endpoint with the options given there", async (_name, make) => {
    const ready = firstValueFrom(fakeQueue.messages$);
    const worker = make(fakeQueue.lastEndpoint!);
    expect(worker.endpoint).toBe(fakeQueue.lastEndpoint);
    worker.serve(([body]) => body!);
    const [identity, ...rest] = await ready;
    // The routing id came from the same object as the endpoint.
    expect(String(identity)).toMatch(/^[ps]1$/);
    expect(rest.at(-1)!.toString("hex")).toBe("01");
    await worker.close();
  });

  it("the object form applies and validates options as the positional form does", () => {
    const worker = new ParanoidPirateWorker({ endpoint: "tcp://127.0.0.1:1", heartbeatInterval: 250, liveness: 5 });
    const positional = new ParanoidPirateWorker("tcp://127.0.0.1:1", { heartbeatInterval: 250, liveness: 5 });
    expect([worker.heartbeatInterval, worker.liveness]).toEqual([positional.heartbeatInterval, positional.liveness]);
    expect(() => new ParanoidPirateWorker({ endpoint: "tcp://127.0.0.1:1", heartbeatInterval: 0 })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    // A JavaScript caller that forgets the endpoint gets the typed error, not a TypeError later.
    expect(() => new ParanoidPirateWorker({} as ParanoidPirateWorkerConfig)).toThrow(PirateError);
    expect(() => new SimplePirateWorker({} as ParanoidPirateWorkerConfig)).toThrow(expect.objectContaining({ reason: "invalid" }));
    void worker.close();
    void positional.close();
  });
});
