import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { installCommand, PYTHON, PYZMQ } from "../../helpers/prerequisites";

const DRIVER = path.join(__dirname, "..", "peers", "zmq_driver.py");

/** libzmq socket types, spelled as pyzmq spells them. */
export type PyzmqSocketType =
  | "PAIR"
  | "PUB"
  | "SUB"
  | "XPUB"
  | "XSUB"
  | "REQ"
  | "REP"
  | "DEALER"
  | "ROUTER"
  | "PUSH"
  | "PULL";

/** An option value: a number, a UTF-8 string, or raw bytes. */
export type PyzmqOptionValue = number | boolean | string | Buffer;

/** A libzmq monitor event, named as in libzmq without the `ZMQ_EVENT_` prefix. */
export interface PyzmqMonitorEvent {
  readonly event: string;
  readonly value: number;
  readonly endpoint: string;
}

/** A failed driver command; `code` is libzmq's errno name (EAGAIN for timeouts). */
export class PyzmqError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "PyzmqError";
  }
}

interface Pending {
  resolve(reply: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const encodeFrames = (frames: readonly (Buffer | string)[]): string[] =>
  frames.map((frame) => Buffer.from(frame).toString("base64"));
const decodeFrames = (frames: unknown): Buffer[] => (frames as string[]).map((frame) => Buffer.from(frame, "base64"));

function encodeOptions(options: Record<string, PyzmqOptionValue>): Record<string, unknown> {
  const encoded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    encoded[name] = Buffer.isBuffer(value) ? { b64: value.toString("base64") } : value;
  }
  return encoded;
}

/**
 * One long-lived Python process running `zmq_driver.py`, which opens and
 * drives any number of libzmq sockets on command. Commands run in order in
 * the driver, so a blocking one (recv) delays those sent after it.
 */
export class PyzmqDriver {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = "";
  private exited: Promise<void>;
  private exitedWith?: string;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      // Keep the tail only: it is there to explain a crash.
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    // The driver's replies can be megabytes long (a 2 MiB frame in base64), so no line-length cap.
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.exitedWith = `pyzmq driver exited (code ${code}, signal ${signal})${this.stderr ? `: ${this.stderr}` : ""}`;
        this.failAll(new Error(this.exitedWith));
        resolve();
      });
    });
    child.on("error", (error) => this.failAll(error));
    // A broken pipe after the driver died is reported through the exit handler instead.
    child.stdin.on("error", () => undefined);
  }

  /** Starts a driver; fails with installation advice if pyzmq is missing. */
  static async start(): Promise<PyzmqDriver> {
    // CI installs pyzmq, so a missing one fails the interop tests rather than skipping them.
    const missing = PYZMQ.probe();
    if (missing) throw new Error(`pyzmq is not available: ${missing}. Install it with: ${installCommand(PYZMQ)}`);
    const child = spawn(PYTHON, ["-u", DRIVER], { stdio: ["pipe", "pipe", "pipe"] });
    const driver = new PyzmqDriver(child);
    // The first reply proves the interpreter started and imported zmq.
    await driver.request("version", {}, 15000);
    return driver;
  }

  /** Sends one command and resolves with its reply; rejects with PyzmqError if the driver reports failure. */
  request(op: string, args: Record<string, unknown> = {}, timeoutMs = 10000): Promise<Record<string, unknown>> {
    if (this.exitedWith) return Promise.reject(new Error(this.exitedWith));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`pyzmq driver did not answer ${op} (id ${id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Opens a libzmq socket (linger 0) with the given options (names as in pyzmq: routing_id, heartbeat_ivl, ...). */
  async socket(type: PyzmqSocketType, options: Record<string, PyzmqOptionValue> = {}): Promise<PyzmqSocket> {
    const reply = await this.request("socket", { type, options: encodeOptions(options) });
    return new PyzmqSocket(this, type, reply.sock as number);
  }

  /** Ends the driver: closes its stdin (it then closes its sockets and exits), killing it if it lingers. */
  async close(): Promise<void> {
    if (!this.exitedWith) {
      this.child.stdin.end();
      const grace = setTimeout(() => this.child.kill("SIGKILL"), 3000);
      await this.exited;
      clearTimeout(grace);
    }
  }

  private onLine(line: string): void {
    let reply: Record<string, unknown>;
    try {
      reply = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.stderr = (this.stderr + `\nunparseable driver output: ${line.slice(0, 200)}`).slice(-4000);
      return;
    }
    const pending = this.pending.get(reply.id as number);
    if (!pending) return;
    this.pending.delete(reply.id as number);
    clearTimeout(pending.timer);
    if (reply.ok === true) pending.resolve(reply);
    else pending.reject(new PyzmqError(String(reply.error), String(reply.code)));
  }

  private failAll(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(error);
    }
  }
}

/** A libzmq socket living in a driver process. */
export class PyzmqSocket {
  constructor(
    readonly driver: PyzmqDriver,
    readonly type: PyzmqSocketType,
    readonly handle: number,
  ) {}

  private call(op: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.driver.request(op, { sock: this.handle, ...args }, timeoutMs);
  }

  /** Binds and resolves with the resolved endpoint (libzmq's LAST_ENDPOINT). */
  async bind(endpoint: string): Promise<string> {
    return (await this.call("bind", { endpoint })).endpoint as string;
  }

  /**
   * Connects. `routingId` names the peer locally (ZMQ_CONNECT_ROUTING_ID);
   * `awaitHandshakeMs` waits, via a socket monitor, until libzmq has
   * completed the ZMTP handshake.
   */
  async connect(endpoint: string, options: { routingId?: string | Buffer; awaitHandshakeMs?: number } = {}): Promise<void> {
    const routingId = options.routingId === undefined ? undefined : { b64: Buffer.from(options.routingId).toString("base64") };
    const wait = options.awaitHandshakeMs;
    await this.call(
      "connect",
      { endpoint, routing_id: routingId, wait_handshake_ms: wait },
      wait === undefined ? undefined : wait + 5000,
    );
  }

  async disconnect(endpoint: string): Promise<void> {
    await this.call("disconnect", { endpoint });
  }

  async setOptions(options: Record<string, PyzmqOptionValue>): Promise<void> {
    await this.call("setsockopt", { options: encodeOptions(options) });
  }

  /** Sends one multipart message, waiting up to `timeoutMs` for room. */
  async send(frames: readonly (Buffer | string)[], timeoutMs = 5000): Promise<void> {
    await this.call("send", { frames: encodeFrames(frames), timeout_ms: timeoutMs }, timeoutMs + 5000);
  }

  /** Sends `count` messages `[String(i), ...frames]` for i = 0..count-1. */
  async sendMany(count: number, frames: readonly (Buffer | string)[] = [], timeoutMs = 5000): Promise<void> {
    await this.call("send_many", { count, frames: encodeFrames(frames), timeout_ms: timeoutMs }, timeoutMs + 20000);
  }

  /**
   * Sends `[String(i), ...frames]` for i = 0, 1, ... with ZMQ_DONTWAIT until
   * libzmq refuses (EAGAIN) and the socket then stays unwritable for
   * `stallMs`, or `max` messages went out. Resolves with how many were
   * accepted and how many sends were refused along the way.
   */
  async sendUntilBlocked(
    frames: readonly (Buffer | string)[] = [],
    { stallMs = 200, max = 100000, timeoutMs = 60000 } = {},
  ): Promise<{ sent: number; refused: number }> {
    const reply = await this.call("send_until_blocked", { frames: encodeFrames(frames), stall_ms: stallMs, max }, timeoutMs);
    return { sent: reply.sent as number, refused: reply.refused as number };
  }

  /** The next message; rejects with PyzmqError code EAGAIN if none arrives within `timeoutMs`. */
  async receive(timeoutMs = 5000): Promise<Buffer[]> {
    return decodeFrames((await this.call("recv", { timeout_ms: timeoutMs }, timeoutMs + 5000)).frames);
  }

  /**
   * The next message plus the sending connection's properties `names`, read
   * by libzmq (zmq_msg_gets, exact-case names); an absent property is null.
   */
  async receiveWithProperties(
    names: readonly string[],
    timeoutMs = 5000,
  ): Promise<{ frames: Buffer[]; properties: Record<string, string | null> }> {
    const reply = await this.call("recv_properties", { names, timeout_ms: timeoutMs }, timeoutMs + 5000);
    return { frames: decodeFrames(reply.frames), properties: reply.properties as Record<string, string | null> };
  }

  /** The next message, or undefined if none arrives within `timeoutMs`. */
  async tryReceive(timeoutMs: number): Promise<Buffer[] | undefined> {
    try {
      return await this.receive(timeoutMs);
    } catch (error) {
      if (error instanceof PyzmqError && error.code === "EAGAIN") return undefined;
      throw error;
    }
  }

  /** The next `count` messages, each within `timeoutMs` of the previous one. */
  async receiveMany(count: number, timeoutMs = 5000): Promise<Buffer[][]> {
    const reply = await this.call("recv_many", { count, timeout_ms: timeoutMs }, timeoutMs + 20000);
    return (reply.messages as unknown[]).map(decodeFrames);
  }

  async subscribe(topic: string | Buffer = ""): Promise<void> {
    await this.call("subscribe", { topic: Buffer.from(topic).toString("base64") });
  }

  async unsubscribe(topic: string | Buffer = ""): Promise<void> {
    await this.call("unsubscribe", { topic: Buffer.from(topic).toString("base64") });
  }

  /** Starts recording libzmq monitor events for this socket. */
  async monitor(): Promise<void> {
    await this.call("monitor");
  }

  /** Monitor events recorded since the last call; with `waitFor`, first waits for that event. */
  async monitorEvents(waitFor?: string, timeoutMs = 5000): Promise<PyzmqMonitorEvent[]> {
    const reply = await this.call("events", { wait_for: waitFor, timeout_ms: timeoutMs }, timeoutMs + 5000);
    return reply.events as PyzmqMonitorEvent[];
  }

  async close(): Promise<void> {
    await this.call("close");
  }
}
