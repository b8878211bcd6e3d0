import type { Logger } from "pino";
import { MajordomoBroker, MajordomoClient, MajordomoWorker } from "../majordomo";

/**
 * `privateer demo`: a Majordomo broker on an ephemeral 127.0.0.1 port, two
 * workers for two services, and a client that calls both, lists the
 * services through MMI and asks for one that does not exist. Everything is
 * closed at the end, so it exits 0 in well under a second.
 */
export async function runDemo(write: (text: string) => void, logger: Logger): Promise<number> {
  const say = (line: string) => write(`${line}\n`);
  const broker = new MajordomoBroker({ logger });
  await broker.bind("tcp://127.0.0.1:*");
  const endpoint = broker.lastEndpoint!;
  say(`broker bound to ${endpoint}`);
  const echo = new MajordomoWorker({ broker: endpoint, service: "echo", logger });
  echo.serve(({ body }) => body);
  const upper = new MajordomoWorker({ broker: endpoint, service: "upper", logger });
  upper.serve(({ body }) => body.map((frame) => frame.toString().toUpperCase()));
  const client = new MajordomoClient({ broker: endpoint, timeout: 2000, retries: 1, logger });
  try {
    for (const [service, body] of [
      ["echo", "hello"],
      ["upper", "hello"],
    ] as const) {
      const reply = await client.call(service, body);
      say(`${service}("${body}") -> "${reply.map(String).join(" ")}"`);
    }
    const [list] = await client.call("mmi.services", "");
    for (const s of JSON.parse(list!.toString()) as Array<{ name: string; workers: number }>) {
      say(`service ${s.name}: ${s.workers} worker(s)`);
    }
    say(`mmi.service("nobody") -> ${(await client.serviceAvailable("nobody")) ? "200" : "404"}`);
    return 0;
  } finally {
    await client.close();
    await Promise.all([echo.close(), upper.close()]);
    await broker.close();
  }
}
