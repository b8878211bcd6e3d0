import { MajordomoError } from "./errors";

/**
 * MDP wire format: 7/MDP (version 0.1) and 18/MDP (version 0.2).
 *
 * Every function here works on the frames a DEALER sees, i.e. without the
 * routing-id frame a ROUTER adds. Both versions share one decoded shape so
 * the broker, worker and clients never branch on byte values.
 */

/** The two protocol versions: 7/MDP is "0.1", 18/MDP is "0.2". */
export type MdpVersion = "0.1" | "0.2";

/** Header frames (six ASCII bytes) naming sub-protocol and version. */
export const HEADER = {
  client01: "MDPC01",
  worker01: "MDPW01",
  client02: "MDPC02",
  worker02: "MDPW02",
} as const;

/** 7/MDP worker command bytes. */
export const WORKER_01 = { READY: 0x01, REQUEST: 0x02, REPLY: 0x03, HEARTBEAT: 0x04, DISCONNECT: 0x05 } as const;

/** 18/MDP worker command bytes. */
export const WORKER_02 = {
  READY: 0x01,
  REQUEST: 0x02,
  PARTIAL: 0x03,
  FINAL: 0x04,
  HEARTBEAT: 0x05,
  DISCONNECT: 0x06,
} as const;

/** 18/MDP client command bytes (7/MDP client messages carry no command byte). */
export const CLIENT_02 = { REQUEST: 0x01, PARTIAL: 0x02, FINAL: 0x03 } as const;

/**
 * A command of the worker sub-protocol, in either direction. Version 0.1's
 * REPLY is a `final`; version 0.1 has no `partial`.
 */
export type WorkerCommand =
  | { readonly type: "ready"; readonly service: string }
  | { readonly type: "request"; readonly client: Buffer; readonly body: Buffer[] }
  | { readonly type: "partial"; readonly client: Buffer; readonly body: Buffer[] }
  | { readonly type: "final"; readonly client: Buffer; readonly body: Buffer[] }
  | { readonly type: "heartbeat" }
  | { readonly type: "disconnect" };

/** A command of the client sub-protocol. Version 0.1's REPLY is a `final`; version 0.1 has no `partial`. */
export type ClientCommand =
  | { readonly type: "request"; readonly service: string; readonly body: Buffer[] }
  | { readonly type: "partial"; readonly service: string; readonly body: Buffer[] }
  | { readonly type: "final"; readonly service: string; readonly body: Buffer[] };

/** A decoded message: the command, its version, and whether it began with an empty delimiter frame. */
export interface Decoded<C> {
  readonly version: MdpVersion;
  /** True when the message started with an empty frame (7/MDP requires one, 18/MDP has none). */
  readonly delimited: boolean;
  readonly command: C;
}

/** What a broker's ROUTER can receive: the header frame decides which sub-protocol it is. */
export type Inbound =
  | ({ readonly peer: "client" } & Decoded<ClientCommand>)
  | ({ readonly peer: "worker" } & Decoded<WorkerCommand>);

const EMPTY = Buffer.alloc(0);

/** The RFC layout: 0.1 messages start with an empty frame, 0.2 messages do not. */
export function defaultDelimited(version: MdpVersion): boolean {
  return version === "0.1";
}

/** Encodes a worker sub-protocol command. An empty body is sent as one empty frame, since the RFCs require at least one. */
export function encodeWorkerCommand(
  version: MdpVersion,
  command: WorkerCommand,
  delimited = defaultDelimited(version),
): Buffer[] {
  const head = delimited ? [EMPTY] : [];
  const header = Buffer.from(version === "0.1" ? HEADER.worker01 : HEADER.worker02);
  const codes = version === "0.1" ? WORKER_01 : WORKER_02;
  const byte = (value: number): Buffer => Buffer.from([value]);
  switch (command.type) {
    case "ready":
      return [...head, header, byte(codes.READY), Buffer.from(command.service)];
    case "request":
      return [...head, header, byte(codes.REQUEST), command.client, EMPTY, ...nonEmpty(command.body)];
    case "partial":
      if (version === "0.1") throw new MajordomoError("protocol", "MDP 0.1 has no PARTIAL command");
      return [...head, header, byte(WORKER_02.PARTIAL), command.client, EMPTY, ...nonEmpty(command.body)];
    case "final":
      return [
        ...head,
        header,
        byte(version === "0.1" ? WORKER_01.REPLY : WORKER_02.FINAL),
        command.client,
        EMPTY,
        ...nonEmpty(command.body),
      ];
    case "heartbeat":
      return [...head, header, byte(codes.HEARTBEAT)];
    case "disconnect":
      return [...head, header, byte(codes.DISCONNECT)];
  }
}

/** Encodes a client sub-protocol command (request from a client, partial/final from the broker). */
export function encodeClientCommand(
  version: MdpVersion,
  command: ClientCommand,
  delimited = defaultDelimited(version),
): Buffer[] {
  const head = delimited ? [EMPTY] : [];
  const service = Buffer.from(command.service);
  const body = nonEmpty(command.body);
  if (version === "0.1") {
    if (command.type === "partial") throw new MajordomoError("protocol", "MDP 0.1 has no PARTIAL command");
    return [...head, Buffer.from(HEADER.client01), service, ...body];
  }
  const code =
    command.type === "request" ? CLIENT_02.REQUEST : command.type === "partial" ? CLIENT_02.PARTIAL : CLIENT_02.FINAL;
  return [...head, Buffer.from(HEADER.client02), Buffer.from([code]), service, ...body];
}

/**
 * Decodes a worker sub-protocol message. Throws a MajordomoError with
 * reason "protocol" when the frames are not a valid command.
 */
export function decodeWorkerCommand(frames: readonly Buffer[]): Decoded<WorkerCommand> {
  const { delimited, rest } = stripDelimiter(frames);
  const version = headerVersion(rest[0], "worker");
  if (version === undefined) throw invalid(`not an MDP worker header: ${printable(rest[0])}`);
  const code = commandByte(rest[1]);
  const args = rest.slice(2);
  const command = version === "0.1" ? workerCommand01(code, args) : workerCommand02(code, args);
  return { version, delimited, command };
}

/**
 * Decodes a client sub-protocol message. `direction` resolves 0.1's
 * ambiguity (REQUEST and REPLY have the same layout): "request" for what a
 * broker receives from a client, "reply" for what a client receives.
 */
export function decodeClientCommand(frames: readonly Buffer[], direction: "request" | "reply"): Decoded<ClientCommand> {
  const { delimited, rest } = stripDelimiter(frames);
  const version = headerVersion(rest[0], "client");
  if (version === undefined) throw invalid(`not an MDP client header: ${printable(rest[0])}`);
  let type: ClientCommand["type"];
  let args: Buffer[];
  if (version === "0.1") {
    type = direction === "request" ? "request" : "final";
    args = rest.slice(1);
  } else {
    const code = commandByte(rest[1]);
    args = rest.slice(2);
    if (direction === "request") {
      if (code !== CLIENT_02.REQUEST) throw invalid(`unexpected MDP 0.2 client command 0x${hex(code)} at a broker`);
      type = "request";
    } else if (code === CLIENT_02.PARTIAL) type = "partial";
    else if (code === CLIENT_02.FINAL) type = "final";
    else throw invalid(`unexpected MDP 0.2 client command 0x${hex(code)} at a client`);
  }
  if (args.length === 0) throw invalid(`MDP client ${type} without a service frame`);
  return { version, delimited, command: { type, service: args[0]!.toString(), body: args.slice(1) } };
}

/** Decodes what a broker's ROUTER received (routing-id frame already removed). */
export function decodeInbound(frames: readonly Buffer[]): Inbound {
  const { rest } = stripDelimiter(frames);
  if (headerVersion(rest[0], "client") !== undefined) return { peer: "client", ...decodeClientCommand(frames, "request") };
  if (headerVersion(rest[0], "worker") !== undefined) return { peer: "worker", ...decodeWorkerCommand(frames) };
  throw invalid(`not an MDP header: ${printable(rest[0])}`);
}

/** The version a header frame announces, if it is one of ours. */
export function headerVersion(frame: Buffer | undefined, side: "client" | "worker"): MdpVersion | undefined {
  if (frame === undefined || frame.length !== 6) return undefined;
  const text = frame.toString("latin1");
  if (side === "client") return text === HEADER.client01 ? "0.1" : text === HEADER.client02 ? "0.2" : undefined;
  return text === HEADER.worker01 ? "0.1" : text === HEADER.worker02 ? "0.2" : undefined;
}

function workerCommand01(code: number, args: Buffer[]): WorkerCommand {
  switch (code) {
    case WORKER_01.READY:
      return ready(args);
    case WORKER_01.REQUEST:
      return { type: "request", ...envelope(args, "REQUEST") };
    case WORKER_01.REPLY:
      return { type: "final", ...envelope(args, "REPLY") };
    case WORKER_01.HEARTBEAT:
      return { type: "heartbeat" };
    case WORKER_01.DISCONNECT:
      return { type: "disconnect" };
    default:
      throw invalid(`unknown MDP 0.1 worker command 0x${hex(code)}`);
  }
}

function workerCommand02(code: number, args: Buffer[]): WorkerCommand {
  switch (code) {
    case WORKER_02.READY:
      return ready(args);
    case WORKER_02.REQUEST:
      return { type: "request", ...envelope(args, "REQUEST") };
    case WORKER_02.PARTIAL:
      return { type: "partial", ...envelope(args, "PARTIAL") };
    case WORKER_02.FINAL:
      return { type: "final", ...envelope(args, "FINAL") };
    case WORKER_02.HEARTBEAT:
      return { type: "heartbeat" };
    case WORKER_02.DISCONNECT:
      return { type: "disconnect" };
    default:
      throw invalid(`unknown MDP 0.2 worker command 0x${hex(code)}`);
  }
}

function ready(args: Buffer[]): WorkerCommand {
  if (args.length === 0) throw invalid("READY without a service frame");
  return { type: "ready", service: args[0]!.toString() };
}

/** The RFCs allow exactly one client address frame followed by an empty delimiter. */
function envelope(args: Buffer[], name: string): { client: Buffer; body: Buffer[] } {
  if (args.length < 2 || args[1]!.length !== 0) throw invalid(`${name} without "client address, empty frame" envelope`);
  return { client: args[0]!, body: args.slice(2) };
}

function stripDelimiter(frames: readonly Buffer[]): { delimited: boolean; rest: Buffer[] } {
  if (frames.length > 0 && frames[0]!.length === 0) return { delimited: true, rest: frames.slice(1) };
  return { delimited: false, rest: [...frames] };
}

function commandByte(frame: Buffer | undefined): number {
  if (frame === undefined || frame.length !== 1) throw invalid("missing or malformed command frame");
  return frame[0]!;
}

function nonEmpty(body: readonly Buffer[]): Buffer[] {
  return body.length === 0 ? [EMPTY] : [...body];
}

function invalid(message: string): MajordomoError {
  return new MajordomoError("protocol", message);
}

function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}

function printable(frame: Buffer | undefined): string {
  if (frame === undefined) return "(missing)";
  return JSON.stringify(frame.subarray(0, 16).toString("latin1"));
}
