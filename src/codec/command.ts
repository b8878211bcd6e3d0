import { ProtocolError } from "../errors";
import { decodeMetadata, encodeMetadata, type Metadata } from "./metadata";

/** The ZMTP commands Privateer understands (NULL mechanism, RFC 37). */
export type Command =
  | { readonly name: "READY"; readonly metadata: Metadata }
  | { readonly name: "ERROR"; readonly reason: string }
  | { readonly name: "PING"; readonly ttl: number; readonly context: Buffer }
  | { readonly name: "PONG"; readonly context: Buffer }
  | { readonly name: "SUBSCRIBE"; readonly topic: Buffer }
  | { readonly name: "CANCEL"; readonly topic: Buffer }
  /** A command we do not know; RFC 37 lets us ignore or reject it, the engine decides. */
  | { readonly name: "UNKNOWN"; readonly commandName: string; readonly data: Buffer };

/** PING context is at most 16 bytes (RFC 37). */
export const PING_CONTEXT_MAX = 16;

/** Encodes a command body (name-len, name, data); the frame header is the encoder's job. */
export function encodeCommand(command: Command): Buffer {
  switch (command.name) {
    case "READY":
      return withName("READY", encodeMetadata(command.metadata));
    case "ERROR": {
      const reason = Buffer.from(command.reason).subarray(0, 255);
      return withName("ERROR", Buffer.concat([Buffer.from([reason.length]), reason]));
    }
    case "PING": {
      const data = Buffer.allocUnsafe(2 + command.context.length);
      data.writeUInt16BE(Math.max(0, Math.min(0xffff, command.ttl)), 0);
      command.context.copy(data, 2);
      return withName("PING", data);
    }
    case "PONG":
      return withName("PONG", command.context);
    case "SUBSCRIBE":
      return withName("SUBSCRIBE", command.topic);
    case "CANCEL":
      return withName("CANCEL", command.topic);
    case "UNKNOWN":
      return withName(command.commandName, command.data);
  }
}

/** Decodes a command frame body. Throws a {@link ProtocolError} if it is malformed. */
export function decodeCommand(body: Buffer): Command {
  if (body.length < 1 || body[0]! === 0 || body.length < 1 + body[0]!) {
    throw new ProtocolError("malformed-command", "command frame too short for its name");
  }
  const nameLength = body[0]!;
  const name = body.toString("ascii", 1, 1 + nameLength);
  const data = body.subarray(1 + nameLength);
  switch (name) {
    case "READY":
      return { name, metadata: decodeMetadata(data) };
    case "ERROR": {
      if (data.length < 1 || data.length < 1 + data[0]!) {
        throw new ProtocolError("malformed-command", "ERROR command reason is truncated");
      }
      return { name, reason: data.toString("utf8", 1, 1 + data[0]!) };
    }
    case "PING":
      if (data.length < 2) throw new ProtocolError("malformed-command", "PING must carry a 2-byte TTL");
      // RFC 37 caps the context at 16 bytes; like libzmq we keep the first 16 of a longer one
      // and still answer, rather than drop a peer that is alive.
      return { name, ttl: data.readUInt16BE(0), context: data.subarray(2, 2 + PING_CONTEXT_MAX) };
    case "PONG":
      return { name, context: data.subarray(0, PING_CONTEXT_MAX) };
    case "SUBSCRIBE":
      return { name, topic: data };
    case "CANCEL":
      return { name, topic: data };
    default:
      return { name: "UNKNOWN", commandName: name, data };
  }
}

function withName(name: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + name.length + data.length);
  out[0] = name.length;
  out.write(name, 1, "ascii");
  data.copy(out, 1 + name.length);
  return out;
}
