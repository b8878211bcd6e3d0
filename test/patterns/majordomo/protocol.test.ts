import {
  decodeClientCommand,
  decodeInbound,
  decodeWorkerCommand,
  encodeClientCommand,
  encodeWorkerCommand,
  MajordomoError,
  type WorkerCommand,
} from "privateer/internal";

const b = (text: string): Buffer => Buffer.from(text, "latin1");
const hex = (frames: Buffer[]): string[] => frames.map((f) => f.toString("hex"));
const E = Buffer.alloc(0);
const CLIENT = b("\x00\x6b\x8b\x45\x67");

// Expected layouts are written out frame by frame from 7/MDP and 18/MDP.
describe("MDP 0.1 (7/MDP) wire layout", () => {
  it("client REQUEST/REPLY: empty, MDPC01, service, body", () => {
    expect(hex(encodeClientCommand("0.1", { type: "request", service: "echo", body: [b("a"), b("b")] }))).toEqual(
      hex([E, b("MDPC01"), b("echo"), b("a"), b("b")]),
    );
    expect(hex(encodeClientCommand("0.1", { type: "final", service: "echo", body: [b("r")] }))).toEqual(
      hex([E, b("MDPC01"), b("echo"), b("r")]),
    );
  });

  it("worker commands carry bytes 0x01..0x05 after an empty frame and MDPW01", () => {
    expect(hex(encodeWorkerCommand("0.1", { type: "ready", service: "echo" }))).toEqual(
      hex([E, b("MDPW01"), b("\x01"), b("echo")]),
    );
    expect(hex(encodeWorkerCommand("0.1", { type: "request", client: CLIENT, body: [b("x")] }))).toEqual(
      hex([E, b("MDPW01"), b("\x02"), CLIENT, E, b("x")]),
    );
    expect(hex(encodeWorkerCommand("0.1", { type: "final", client: CLIENT, body: [b("y")] }))).toEqual(
      hex([E, b("MDPW01"), b("\x03"), CLIENT, E, b("y")]),
    );
    expect(hex(encodeWorkerCommand("0.1", { type: "heartbeat" }))).toEqual(hex([E, b("MDPW01"), b("\x04")]));
    expect(hex(encodeWorkerCommand("0.1", { type: "disconnect" }))).toEqual(hex([E, b("MDPW01"), b("\x05")]));
  });

  it("has no PARTIAL", () => {
    expect(() => encodeWorkerCommand("0.1", { type: "partial", client: CLIENT, body: [] })).toThrow(MajordomoError);
    expect(() => encodeClientCommand("0.1", { type: "partial", service: "s", body: [] })).toThrow(MajordomoError);
  });

  it("decodes REQ-framed client requests and worker replies", () => {
    expect(decodeInbound([E, b("MDPC01"), b("echo"), b("hi")])).toEqual({
      peer: "client",
      version: "0.1",
      delimited: true,
      command: { type: "request", service: "echo", body: [b("hi")] },
    });
    expect(decodeWorkerCommand([E, b("MDPW01"), b("\x03"), CLIENT, E, b("y")])).toEqual({
      version: "0.1",
      delimited: true,
      command: { type: "final", client: CLIENT, body: [b("y")] },
    });
    expect(decodeClientCommand([E, b("MDPC01"), b("echo"), b("r")], "reply").command.type).toBe("final");
  });
});

describe("MDP 0.2 (18/MDP) wire layout", () => {
  it("client commands: MDPC02, 0x01 REQUEST / 0x02 PARTIAL / 0x03 FINAL, service, body; no empty frame", () => {
    expect(hex(encodeClientCommand("0.2", { type: "request", service: "echo", body: [b("a")] }))).toEqual(
      hex([b("MDPC02"), b("\x01"), b("echo"), b("a")]),
    );
    expect(hex(encodeClientCommand("0.2", { type: "partial", service: "echo", body: [b("p")] }))).toEqual(
      hex([b("MDPC02"), b("\x02"), b("echo"), b("p")]),
    );
    expect(hex(encodeClientCommand("0.2", { type: "final", service: "echo", body: [b("f")] }))).toEqual(
      hex([b("MDPC02"), b("\x03"), b("echo"), b("f")]),
    );
  });

  it("worker commands: MDPW02, READY 1, REQUEST 2, PARTIAL 3, FINAL 4, HEARTBEAT 5, DISCONNECT 6", () => {
    expect(hex(encodeWorkerCommand("0.2", { type: "ready", service: "echo" }))).toEqual(
      hex([b("MDPW02"), b("\x01"), b("echo")]),
    );
    expect(hex(encodeWorkerCommand("0.2", { type: "request", client: CLIENT, body: [b("x")] }))).toEqual(
      hex([b("MDPW02"), b("\x02"), CLIENT, E, b("x")]),
    );
    expect(hex(encodeWorkerCommand("0.2", { type: "partial", client: CLIENT, body: [b("p")] }))).toEqual(
      hex([b("MDPW02"), b("\x03"), CLIENT, E, b("p")]),
    );
    expect(hex(encodeWorkerCommand("0.2", { type: "final", client: CLIENT, body: [b("f")] }))).toEqual(
      hex([b("MDPW02"), b("\x04"), CLIENT, E, b("f")]),
    );
    expect(hex(encodeWorkerCommand("0.2", { type: "heartbeat" }))).toEqual(hex([b("MDPW02"), b("\x05")]));
    expect(hex(encodeWorkerCommand("0.2", { type: "disconnect" }))).toEqual(hex([b("MDPW02"), b("\x06")]));
  });

  it("decodes every worker command back to what was encoded", () => {
    const commands: WorkerCommand[] = [
      { type: "ready", service: "svc" },
      { type: "request", client: CLIENT, body: [b("1"), b("2")] },
      { type: "partial", client: CLIENT, body: [b("p")] },
      { type: "final", client: CLIENT, body: [b("f")] },
      { type: "heartbeat" },
      { type: "disconnect" },
    ];
    for (const command of commands) {
      expect(decodeWorkerCommand(encodeWorkerCommand("0.2", command)).command).toEqual(command);
    }
  });

  it("an empty body is sent as one empty frame (the RFCs require at least one body frame)", () => {
    expect(encodeClientCommand("0.2", { type: "final", service: "s", body: [] })).toHaveLength(4);
  });

  it("tells a client from a worker by the header frame", () => {
    expect(decodeInbound([b("MDPC02"), b("\x01"), b("echo"), b("x")]).peer).toBe("client");
    expect(decodeInbound([b("MDPW02"), b("\x05")]).peer).toBe("worker");
  });
});

describe("invalid messages are refused with a typed error", () => {
  const cases: Array<[string, Buffer[]]> = [
    ["unknown header", [b("MDPX01"), b("\x01")]],
    ["no frames", []],
    ["unknown 0.2 worker command", [b("MDPW02"), b("\x07")]],
    ["unknown 0.1 worker command", [E, b("MDPW01"), b("\x06")]],
    ["two-byte command frame", [b("MDPW02"), b("\x01\x01"), b("svc")]],
    ["READY without service", [b("MDPW02"), b("\x01")]],
    ["REPLY without empty delimiter", [b("MDPW02"), b("\x04"), CLIENT, b("x")]],
    ["client REQUEST without service", [b("MDPC02"), b("\x01")]],
    ["client sending FINAL to a broker", [b("MDPC02"), b("\x03"), b("svc"), b("x")]],
  ];
  it.each(cases)("%s", (_name, frames) => {
    let caught: unknown;
    try {
      decodeInbound(frames);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MajordomoError);
    expect((caught as MajordomoError).reason).toBe("protocol");
    expect((caught as MajordomoError).code).toBe("EPROTO");
  });
});
