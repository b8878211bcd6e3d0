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

/*
 * Header and command frames are the same bytes in every message, so each is
 * one shared Buffer rather than a fresh one per message (a broker encodes two
 * messages per request). Sockets only read the frames they send; a receiver
 * in the same process gets its own decoded frames, never these.
 */
const HEADER_FRAME = {
  client01: Buffer.from(HEADER.client01),
  worker01: Buffer.from(HEADER.worker01),
  client02: Buffer.from(HEADER.client02),
  worker02: Buffer.from(HEADER.worker02),
} as const;
/** One-byte command frames, by command byte (0x00-0x07 covers both versions). */
const BYTE_FRAME: readonly Buffer[] = Array.from({ length: 8 }, (_, value) => Buffer.from([value]));

/** Service names as frames; a broker replies under a handful of names, so each is encoded once. */
const serviceFrames = new Map<string, Buffer>();
const SERVICE_FRAMES_MAX = 1024;

function serviceFrame(service: string): Buffer {
  let frame = serviceFrames.get(service);
  if (frame === undefined) {
    // Names come from the network: bound the cache rather than let a stream of new names grow it.
    if (serviceFrames.size >= SERVICE_FRAMES_MAX) serviceFrames.clear();
    frame = Buffer.from(service);
    serviceFrames.set(service, frame);
  }
  return frame;
}

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
  return encodeWorkerCommandAfter(undefined, version, command, delimited);
}

/**
 * {@link encodeWorkerCommand} with `first` (a ROUTER's routing-id frame) put
 * before the command, so a broker builds each message in one array.
 */
export function encodeWorkerCommandAfter(
  first: Buffer | undefined,
  version: MdpVersion,
  command: WorkerCommand,
  delimited = defaultDelimited(version),
): Buffer[] {
  const frames: Buffer[] = [];
  if (first !== undefined) frames.push(first);
  if (delimited) frames.push(EMPTY);
  frames.push(version === "0.1" ? HEADER_FRAME.worker01 : HEADER_FRAME.worker02);
  const codes = version === "0.1" ? WORKER_01 : WORKER_02;
  switch (command.type) {
    case "ready":
      frames.push(BYTE_FRAME[codes.READY]!, Buffer.from(command.service));
      return frames;
    case "request":
      frames.push(BYTE_FRAME[codes.REQUEST]!, command.client, EMPTY);
      return pushBody(frames, command.body);
    case "partial":
      if (version === "0.1") throw new MajordomoError("protocol", "MDP 0.1 has no PARTIAL command");
      frames.push(BYTE_FRAME[WORKER_02.PARTIAL]!, command.client, EMPTY);
      return pushBody(frames, command.body);
    case "final":
      frames.push(BYTE_FRAME[version === "0.1" ? WORKER_01.REPLY : WORKER_02.FINAL]!, command.client, EMPTY);
      return pushBody(frames, command.body);
    case "heartbeat":
      frames.push(BYTE_FRAME[codes.HEARTBEAT]!);
      return frames;
    case "disconnect":
      frames.push(BYTE_FRAME[codes.DISCONNECT]!);
      return frames;
  }
}

/** Encodes a client sub-protocol command (request from a client, partial/final from the broker). */
export function encodeClientCommand(
  version: MdpVersion,
  command: ClientCommand,
  delimited = defaultDelimited(version),
): Buffer[] {
  return encodeClientCommandAfter(undefined, version, command, delimited);
}

/** {@link encodeClientCommand} with `first` (a ROUTER's routing-id frame) put before the command. */
export function encodeClientCommandAfter(
  first: Buffer | undefined,
  version: MdpVersion,
  command: ClientCommand,
  delimited = defaultDelimited(version),
): Buffer[] {
  const frames: Buffer[] = [];
  if (first !== undefined) frames.push(first);
  if (delimited) frames.push(EMPTY);
  if (version === "0.1") {
    if (command.type === "partial") throw new MajordomoError("protocol", "MDP 0.1 has no PARTIAL command");
    frames.push(HEADER_FRAME.client01, serviceFrame(command.service));
    return pushBody(frames, command.body);
  }
  const code =
    command.type === "request" ? CLIENT_02.REQUEST : command.type === "partial" ? CLIENT_02.PARTIAL : CLIENT_02.FINAL;
  frames.push(HEADER_FRAME.client02, BYTE_FRAME[code]!, serviceFrame(command.service));
  return pushBody(frames, command.body);
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
  return decodeInboundAt(frames, 0);
}

/**
 * {@link decodeInbound} of the frames from index `start` on, so that a
 * broker decodes a ROUTER message without first copying it minus its
 * routing-id frame. Only the body array is new; every frame is the one received.
 */
export function decodeInboundAt(frames: readonly Buffer[], start: number): Inbound {
  const delimited = frames.length > start && frames[start]!.length === 0;
  const at = delimited ? start + 1 : start;
  const header = frames[at];
  const client = headerVersion(header, "client");
  if (client === "0.1") {
    if (frames.length <= at + 1) throw invalid("MDP client request without a service frame");
    return { peer: "client", version: client, delimited, command: request(frames, at + 1) };
  }
  if (client === "0.2") {
    const code = commandByte(frames[at + 1]);
    if (code !== CLIENT_02.REQUEST) throw invalid(`unexpected MDP 0.2 client command 0x${hex(code)} at a broker`);
    if (frames.length <= at + 2) throw invalid("MDP client request without a service frame");
    return { peer: "client", version: client, delimited, command: request(frames, at + 2) };
  }
  const worker = headerVersion(header, "worker");
  if (worker === undefined) throw invalid(`not an MDP header: ${printable(header)}`);
  const code = commandByte(frames[at + 1]);
  const args = frames.slice(at + 2);
  const command = worker === "0.1" ? workerCommand01(code, args) : workerCommand02(code, args);
  return { peer: "worker", version: worker, delimited, command };
}

function request(frames: readonly Buffer[], service: number): ClientCommand {
  return { type: "request", service: frames[service]!.toString(), body: frames.slice(service + 1) };
}

/** The version a header frame announces, if it is one of ours. */
export function headerVersion(frame: Buffer | undefined, side: "client" | "worker"): MdpVersion | undefined {
  // Byte by byte rather than through a string: the broker asks this of every message it receives.
  if (frame === undefined || frame.length !== 6) return undefined;
  if (frame[0] !== 0x4d || frame[1] !== 0x44 || frame[2] !== 0x50 || frame[4] !== 0x30) return undefined; // "MDP?0?"
  if (frame[3] !== (side === "client" ? 0x43 : 0x57)) return undefined; // 'C' or 'W'
  return frame[5] === 0x31 ? "0.1" : frame[5] === 0x32 ? "0.2" : undefined;
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

/** Appends the body frames; an empty body as one empty frame. */
function pushBody(frames: Buffer[], body: readonly Buffer[]): Buffer[] {
  if (body.length === 0) frames.push(EMPTY);
  for (let i = 0; i < body.length; i++) frames.push(body[i]!);
  return frames;
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
