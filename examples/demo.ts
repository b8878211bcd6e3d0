/**
 * A tour of Privateer's core sockets, run by `npm run tour`. Everything talks
 * over 127.0.0.1 with ephemeral ports (or inproc), finishes in about a
 * second, and closes every socket so the process exits on its own.
 */
import { filter, firstValueFrom, map, take, takeWhile, toArray } from "rxjs";
import {
  Dealer,
  Pair,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
  type SocketBase,
  type SocketEvent,
} from "privateer";

const ANY_PORT = "tcp://127.0.0.1:*";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One line per connection event; subscribe before bind/connect, since events$ does not replay. */
function traceEvents(name: string, socket: SocketBase): void {
  socket.events$.subscribe((event: SocketEvent) => {
    switch (event.type) {
      case "accept":
      case "connect":
        say(`    [${name}] ${event.type} ${event.address}`);
        break;
      case "handshake":
        say(`    [${name}] handshake with ${event.peer.socketType} (${event.peer.protocol})`);
        break;
      default:
        break;
    }
  });
}

/** Resolves once `socket` has completed `count` handshakes. Call it before the connects it waits for. */
function handshakes(socket: SocketBase, count: number): Promise<unknown> {
  return firstValueFrom(
    socket.events$.pipe(
      filter((event) => event.type === "handshake"),
      take(count),
      toArray(),
    ),
  );
}

async function requestReply(): Promise<void> {
  say("1. REQ/REP over tcp, with the handshake events from events$");
  const rep = new Reply();
  const req = new Request();
  traceEvents("REP", rep);
  traceEvents("REQ", req);

  await rep.bind(ANY_PORT);
  say(`    REP bound to ${rep.lastEndpoint}`);
  req.connect(rep.lastEndpoint!);

  const server = (async () => {
    const [question] = await rep.receive();
    await rep.send(`pong (you said "${question!.toString()}")`);
  })();

  // Sent before the connection exists: the message waits in the pipe until the handshake is done.
  await req.send("ping");
  const [answer] = await req.receive();
  await server;
  say(`    REQ got: ${answer!.toString()}`);
  req.close();
  rep.close();
}

async function dealerRouter(): Promise<void> {
  say("2. DEALER/ROUTER over tcp: the ROUTER sees who sent each message");
  const router = new Router();
  await router.bind(ANY_PORT);
  const alice = new Dealer({ routingId: "alice" });
  const bob = new Dealer({ routingId: "bob" });
  const ready = handshakes(router, 2);
  alice.connect(router.lastEndpoint!);
  bob.connect(router.lastEndpoint!);
  await ready;

  const server = (async () => {
    let served = 0;
    for await (const [id, body] of router) {
      say(`    ROUTER got "${body!.toString()}" from routing id "${id!.toString()}"`);
      // The first frame picks the peer the reply goes to.
      await router.send([id!, `hello ${id!.toString()}`]);
      if (++served === 2) break;
    }
  })();

  await alice.send("hi from alice");
  await bob.send("hi from bob");
  const [toAlice] = await alice.receive();
  const [toBob] = await bob.receive();
  await server;
  say(`    alice got: ${toAlice!.toString()}`);
  say(`    bob got: ${toBob!.toString()}`);
  for (const socket of [alice, bob, router]) socket.close();
}

async function publishSubscribe(): Promise<void> {
  say('3. PUB/SUB over tcp: the subscriber only asked for "weather."');
  const pub = new Publisher();
  const sub = new Subscriber();
  await pub.bind(ANY_PORT);
  sub.connect(pub.lastEndpoint!);
  sub.subscribe("weather.");

  const topics$ = sub.messages$.pipe(map((frames) => frames.map((frame) => frame.toString())));

  // A subscription reaches the publisher a moment after the connection; until then
  // a PUB sends to nobody. Publish a sync message until one comes through.
  const synced = firstValueFrom(topics$);
  const pump = setInterval(() => void pub.send(["weather.sync", ""]), 10);
  await synced;
  clearInterval(pump);

  const received = firstValueFrom(
    topics$.pipe(
      filter(([topic]) => topic !== "weather.sync"),
      takeWhile(([topic]) => topic !== "weather.oslo", true),
      toArray(),
    ),
  );
  const published = [
    ["weather.paris", "21C"],
    ["sports.tennis", "6-4 6-3"],
    ["weather.oslo", "-3C"],
  ];
  for (const message of published) {
    await pub.send(message);
    say(`    PUB sent ${message.join(" ")}`);
  }
  for (const [topic, body] of await received) say(`    SUB got  ${topic} ${body}`);
  say("    (sports.tennis was filtered out by the publisher: nobody subscribed to it)");
  sub.close();
  pub.close();
}

async function pushPull(): Promise<void> {
  say("4. PUSH/PULL over tcp: tasks are dealt round-robin to two workers");
  const push = new Push();
  await push.bind(ANY_PORT);
  const workers = [new Pull(), new Pull()];
  const ready = handshakes(push, workers.length);
  for (const worker of workers) worker.connect(push.lastEndpoint!);
  // Round-robin only covers connected peers: wait for both, or the first would get everything.
  await ready;

  const tasks = 6;
  let done = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const loops = workers.map(async (worker, n) => {
    const got: string[] = [];
    // The loop ends by itself when the worker socket is closed.
    for await (const [task] of worker) {
      got.push(task!.toString());
      if (++done === tasks) allDone();
    }
    say(`    worker ${n + 1} did ${got.join(", ")}`);
  });

  for (let i = 1; i <= tasks; i++) await push.send(`task-${i}`);
  await finished;
  for (const worker of workers) worker.close();
  await Promise.all(loops);
  push.close();
}

async function inproc(): Promise<void> {
  say("5. PAIR over inproc: connect (and send) before the bind exists");
  const left = new Pair();
  const right = new Pair();
  traceEvents("left", left);
  left.connect("inproc://demo-pair");
  await left.send("queued before anyone was listening");
  await right.bind("inproc://demo-pair");
  const [message] = await right.receive();
  say(`    right got: ${message!.toString()}`);
  left.close();
  right.close();
}

async function main(): Promise<void> {
  // A demo that hangs is worse than one that fails: give up loudly after a while.
  const watchdog = setTimeout(() => {
    process.stderr.write("demo did not finish within 10 s\n");
    process.exit(1);
  }, 10_000);
  watchdog.unref();

  say("Privateer demo: ZeroMQ sockets in pure TypeScript");
  await requestReply();
  await dealerRouter();
  await publishSubscribe();
  await pushPull();
  await inproc();
  say("done");
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
