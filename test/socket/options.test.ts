import { Publisher, Pull, Push, Subscriber, XPublisher, XSubscriber, type SocketBase, type SocketOptions } from "../../src";
import { OPTIONS } from "../../src/socket/options";
import { closeAll } from "../helpers/endpoints";

const factories: Array<[string, (options?: object) => SocketBase]> = [
  ["Publisher", (o) => new Publisher(o as SocketOptions)],
  ["Subscriber", (o) => new Subscriber(o as SocketOptions)],
  ["XPublisher", (o) => new XPublisher(o as SocketOptions)],
  ["XSubscriber", (o) => new XSubscriber(o as SocketOptions)],
  ["Push", (o) => new Push(o as SocketOptions)],
  ["Pull", (o) => new Pull(o as SocketOptions)],
];

describe.each(factories)("%s options", (_name, make) => {
  const opened: SocketBase[] = [];
  const open = (options?: object): SocketBase => {
    const socket = make(options);
    opened.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...opened.splice(0)));

  it("defaults to libzmq's values", () => {
    const socket = open();
    expect({
      sendHighWaterMark: socket.sendHighWaterMark,
      receiveHighWaterMark: socket.receiveHighWaterMark,
      linger: socket.linger,
      reconnectInterval: socket.reconnectInterval,
      reconnectMaxInterval: socket.reconnectMaxInterval,
      heartbeatInterval: socket.heartbeatInterval,
      heartbeatTimeout: socket.heartbeatTimeout,
      heartbeatTimeToLive: socket.heartbeatTimeToLive,
      handshakeInterval: socket.handshakeInterval,
      maxMessageSize: socket.maxMessageSize,
      immediate: socket.immediate,
      sendTimeout: socket.sendTimeout,
      receiveTimeout: socket.receiveTimeout,
      backlog: socket.backlog,
      routingId: socket.routingId,
    }).toEqual({
      sendHighWaterMark: 1000,
      receiveHighWaterMark: 1000,
      linger: -1,
      reconnectInterval: 100,
      reconnectMaxInterval: 0,
      heartbeatInterval: 0,
      heartbeatTimeout: -1,
      heartbeatTimeToLive: 0,
      handshakeInterval: 30000,
      maxMessageSize: -1,
      immediate: false,
      sendTimeout: -1,
      receiveTimeout: -1,
      backlog: 100,
      routingId: null,
    });
  });

  it("applies constructor options through the same properties", () => {
    const socket = open({ sendHighWaterMark: 5, receiveHighWaterMark: 0, linger: 0, reconnectInterval: -1, sendTimeout: 0 });
    expect(socket.sendHighWaterMark).toBe(5);
    expect(socket.receiveHighWaterMark).toBe(0);
    expect(socket.linger).toBe(0);
    expect(socket.reconnectInterval).toBe(-1);
    expect(socket.sendTimeout).toBe(0);
  });

  it.each([
    ["sendHighWaterMark", -1],
    ["receiveHighWaterMark", -5],
    ["sendHighWaterMark", 1.5],
    ["linger", -2],
    ["reconnectInterval", -2],
    ["reconnectMaxInterval", -1],
    ["sendTimeout", -2],
    ["receiveTimeout", -2],
    ["heartbeatInterval", -1],
    ["handshakeInterval", -1],
    ["maxMessageSize", -2],
    ["backlog", -1],
    ["sendHighWaterMark", Number.NaN],
  ])("rejects %s = %p with EINVAL, as property and in the constructor", (key, value) => {
    const socket = open();
    const before = (socket as unknown as Record<string, unknown>)[key];
    expect(() => ((socket as unknown as Record<string, unknown>)[key] = value)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    // A rejected value leaves the option as it was.
    expect((socket as unknown as Record<string, unknown>)[key]).toBe(before);
    expect(() => open({ [key]: value })).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("has every option of the table as a property that takes back, in the constructor, the value it reads", () => {
    const socket = open() as unknown as Record<string, unknown>;
    for (const key of Object.keys(OPTIONS)) {
      const value = socket[key];
      const copy = open({ [key]: value }) as unknown as Record<string, unknown>;
      expect([key, copy[key]]).toEqual([key, value]);
    }
  });

  it.each([["noSuchOption"], ["sendHwm"], ["bind"], ["send"], ["closed"], ["lastEndpoint"], ["events$"], ["securityMechanism"]])(
    "rejects the unknown constructor option %s with EINVAL",
    (key) => {
      expect(() => open({ [key]: 1 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    },
  );

  it("ignores options given as undefined", () => {
    const socket = open({ sendHighWaterMark: undefined, linger: 0 });
    expect(socket.sendHighWaterMark).toBe(1000);
    expect(socket.linger).toBe(0);
  });

  it("validates routingId: at most 255 bytes, not starting with a zero byte", () => {
    const socket = open();
    socket.routingId = "x".repeat(255);
    expect(socket.routingId).toBe("x".repeat(255));
    expect(() => (socket.routingId = "x".repeat(256))).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => (socket.routingId = Buffer.from([0, 1]))).toThrow(expect.objectContaining({ code: "EINVAL" }));
    socket.routingId = null;
    expect(socket.routingId).toBeNull();
  });

  it("refuses a heartbeatTimeToLive ZMTP cannot carry, as libzmq does", () => {
    const socket = open();
    socket.heartbeatTimeToLive = 6553599;
    expect(socket.heartbeatTimeToLive).toBe(6553599);
    expect(() => (socket.heartbeatTimeToLive = 6553600)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(socket.heartbeatTimeToLive).toBe(6553599);
  });

  it("applies a changed high-water mark to existing connections, as libzmq does", () => {
    const socket = open();
    socket.connect("inproc://options-hwm-never-bound");
    socket.sendHighWaterMark = 5;
    socket.receiveHighWaterMark = 7;
    const pipes = [...(socket as unknown as { pipes: Set<{ sendHighWaterMark: number; receiveHighWaterMark: number }> }).pipes];
    expect(pipes).toHaveLength(1);
    expect(pipes[0]).toMatchObject({ sendHighWaterMark: 5, receiveHighWaterMark: 7 });
  });
});

describe("type-specific options", () => {
  const opened: SocketBase[] = [];
  afterEach(() => closeAll(...opened.splice(0)));

  it("accepts XPUB options on an XPublisher only", () => {
    const xpub = new XPublisher({ noDrop: true, verbosity: "allSubsUnsubs", welcomeMessage: "hi" });
    opened.push(xpub);
    expect(xpub.noDrop).toBe(true);
    expect(xpub.verbosity).toBe("allSubsUnsubs");
    expect(xpub.welcomeMessage).toBe("hi");
    expect(() => opened.push(new Publisher({ welcomeMessage: "hi" } as SocketOptions))).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => opened.push(new Pull({ noDrop: true } as SocketOptions))).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
  });
});
