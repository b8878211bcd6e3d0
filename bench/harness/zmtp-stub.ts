import { connect, type Socket } from "node:net";

/**
 * A deliberately tiny ZMTP 3.1 client (NULL mechanism) for the memory
 * scenarios. It is the same for every implementation under test, costs
 * the measured process nothing, and can do what no well-behaved socket
 * will: sit idle by the thousand, or stop reading altogether.
 */

const GREETING_SIZE = 64;
const COMMAND = 0x04;
const LONG = 0x02;

function greeting(): Buffer {
  const g = Buffer.alloc(GREETING_SIZE);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  g.write("NULL", 12, "ascii");
  return g;
}

function shortFrame(flags: number, body: Buffer): Buffer {
  if (body.length > 255) throw new Error("stub frames are short frames");
  return Buffer.concat([Buffer.from([flags, body.length]), body]);
}

function property(name: string, value: Buffer): Buffer {
  const header = Buffer.alloc(1 + name.length + 4);
  header[0] = name.length;
  header.write(name, 1, "ascii");
  header.writeUInt32BE(value.length, 1 + name.length);
  return Buffer.concat([header, value]);
}

function command(name: string, data: Buffer): Buffer {
  return shortFrame(COMMAND, Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), data]));
}

/** READY for `socketType`, with an empty Identity where libzmq would send one. */
export function ready(socketType: "DEALER" | "SUB"): Buffer {
  const props = [property("Socket-Type", Buffer.from(socketType))];
  if (socketType === "DEALER") props.push(property("Identity", Buffer.alloc(0)));
  return command("READY", Buffer.concat(props));
}

export function messageFrame(body: Buffer): Buffer {
  return shortFrame(0, body);
}

/** RFC 37's SUBSCRIBE command (the peer announced 3.1, as we do). */
export function subscribeCommand(topic: Buffer): Buffer {
  return command("SUBSCRIBE", topic);
}

/**
 * Opens a connection, sends our greeting, and once the peer's greeting is
 * in, `afterGreeting` (READY and whatever follows it). Resolves when the
 * peer's READY has arrived, i.e. the handshake is complete. libzmq drops a
 * peer whose READY arrives glued to its greeting, hence the two steps.
 */
export function openStub(host: string, port: number, afterGreeting: Buffer, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    const done = (error?: Error): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("error", done);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        // Later errors (the peer going away at the end of a run) are expected.
        socket.on("error", () => undefined);
        resolve(socket);
      }
    };
    let greeted = false;
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      if (!greeted && seen.length >= GREETING_SIZE) {
        greeted = true;
        socket.write(afterGreeting);
      }
      if (seen.length < GREETING_SIZE + 2) return;
      const flags = seen[GREETING_SIZE]!;
      if ((flags & COMMAND) === 0 || (flags & LONG) !== 0) {
        done(new Error("peer did not answer with a short READY command"));
        return;
      }
      if (seen.length >= GREETING_SIZE + 2 + seen[GREETING_SIZE + 1]!) done();
    };
    socket.on("data", onData);
    socket.once("error", done);
    socket.once("connect", () => socket.write(greeting()));
  });
}

/** Splits `tcp://host:port`. */
export function tcpAddress(endpoint: string): { host: string; port: number } {
  const match = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!match) throw new Error(`not a tcp endpoint: ${endpoint}`);
  return { host: match[1]!, port: Number(match[2]) };
}
