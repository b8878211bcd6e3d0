import * as net from "node:net";
import { encodeCommand, encodeGreeting, FrameEncoder, FrameFlags } from "../../src/codec";

/** Hand-built ZMTP bytes for tests that play a misbehaving or minimal peer. */
export const zmtp = {
  greeting(options: { major?: number; minor?: number; mechanism?: string } = {}): Buffer {
    return encodeGreeting({
      major: options.major ?? 3,
      minor: options.minor ?? 1,
      mechanism: options.mechanism ?? "NULL",
      asServer: false,
    });
  },
  /** A READY command frame with the given properties (defaults to a DEALER). */
  ready(properties: Record<string, string> = { "Socket-Type": "DEALER", Identity: "" }): Buffer {
    const metadata = new Map(Object.entries(properties).map(([k, v]) => [k, Buffer.from(v)]));
    return zmtp.command(encodeCommand({ name: "READY", metadata }));
  },
  command(body: Buffer): Buffer {
    const encoder = new FrameEncoder();
    encoder.frame(body, FrameFlags.COMMAND);
    return Buffer.concat(encoder.take());
  },
  message(...frames: Array<string | Buffer>): Buffer {
    const encoder = new FrameEncoder();
    encoder.message(frames.map((f) => (typeof f === "string" ? Buffer.from(f) : f)));
    return Buffer.concat(encoder.take());
  },
};

/** Opens a raw tcp connection to a `tcp://127.0.0.1:port` endpoint. */
export function rawConnect(endpoint: string): Promise<net.Socket> {
  const match = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!match) throw new Error(`not a tcp endpoint: ${endpoint}`);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: match[1], port: Number(match[2]) }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

/** Resolves when the server closes the raw connection. */
export function closedByPeer(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.on("error", () => undefined);
    socket.once("close", () => resolve());
    socket.resume();
  });
}
