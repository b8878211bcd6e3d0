import { filter, firstValueFrom, take, toArray } from "rxjs";
import { MajordomoBroker, type BrokerEvent } from "../../../patterns/majordomo";

/** Things a test opened; {@link Tracker.closeAll} closes them newest first. */
export class Tracker {
  private readonly open: Array<{ close(): unknown }> = [];

  track<T extends { close(): unknown }>(thing: T): T {
    this.open.push(thing);
    return thing;
  }

  async closeAll(): Promise<void> {
    for (const thing of this.open.splice(0).reverse()) await thing.close();
  }
}

/** A broker bound to an ephemeral port on 127.0.0.1. */
export async function startBroker(
  tracker: Tracker,
  options: ConstructorParameters<typeof MajordomoBroker>[0] = {},
): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  const broker = tracker.track(new MajordomoBroker({ linger: 0, ...options }));
  await broker.bind("tcp://127.0.0.1:*");
  return { broker, endpoint: broker.lastEndpoint! };
}

/** The next `count` broker events of `type` (subscribe before causing them). */
export function nextBrokerEvents<T extends BrokerEvent["type"]>(
  broker: MajordomoBroker,
  type: T,
  count = 1,
  test: (event: Extract<BrokerEvent, { type: T }>) => boolean = () => true,
): Promise<Array<Extract<BrokerEvent, { type: T }>>> {
  return firstValueFrom(
    broker.events$.pipe(
      filter((e): e is Extract<BrokerEvent, { type: T }> => e.type === type && test(e as Extract<BrokerEvent, { type: T }>)),
      take(count),
      toArray(),
    ),
  );
}
