import { formatTcp, parseEndpoint } from "../../src/transport/endpoint";
import { PrivateerError, type ErrorCode } from "../../src/errors";

function codeOf(fn: () => unknown): ErrorCode | "no error" {
  try {
    fn();
  } catch (error) {
    if (error instanceof PrivateerError) return error.code;
    throw error;
  }
  return "no error";
}

describe("parseEndpoint: tcp", () => {
  it("parses an IPv4 address and port", () => {
    expect(parseEndpoint("tcp://127.0.0.1:5555", "connect")).toEqual({
      protocol: "tcp",
      host: "127.0.0.1",
      port: 5555,
      address: "tcp://127.0.0.1:5555",
    });
  });

  it("parses an IPv6 address in brackets, dropping the brackets", () => {
    expect(parseEndpoint("tcp://[::1]:80", "bind")).toMatchObject({ host: "::1", port: 80 });
    expect(parseEndpoint("tcp://[fe80::1:2]:65535", "connect")).toMatchObject({ host: "fe80::1:2", port: 65535 });
  });

  it("parses a hostname", () => {
    expect(parseEndpoint("tcp://localhost:1", "connect")).toMatchObject({ host: "localhost", port: 1 });
  });

  it("takes * as every interface when binding only", () => {
    expect(parseEndpoint("tcp://*:5555", "bind")).toMatchObject({ host: "*", port: 5555 });
    expect(codeOf(() => parseEndpoint("tcp://*:5555", "connect"))).toBe("EINVAL");
  });

  it("takes port * or 0 as an ephemeral port (reported as 0) when binding only", () => {
    expect(parseEndpoint("tcp://127.0.0.1:*", "bind")).toMatchObject({ port: 0, address: "tcp://127.0.0.1:*" });
    expect(parseEndpoint("tcp://127.0.0.1:0", "bind")).toMatchObject({ port: 0 });
    expect(parseEndpoint("tcp://*:*", "bind")).toMatchObject({ host: "*", port: 0 });
    expect(codeOf(() => parseEndpoint("tcp://127.0.0.1:*", "connect"))).toBe("EINVAL");
    expect(codeOf(() => parseEndpoint("tcp://127.0.0.1:0", "connect"))).toBe("EINVAL");
  });

  it.each(["65536", "99999", "-1", "abc", "", "12ab", "0x10", "1.5", " 80", "1e3"])("rejects port %j", (port) => {
    expect(codeOf(() => parseEndpoint(`tcp://127.0.0.1:${port}`, "bind"))).toBe("EINVAL");
    expect(codeOf(() => parseEndpoint(`tcp://127.0.0.1:${port}`, "connect"))).toBe("EINVAL");
  });

  it("accepts the extreme valid ports", () => {
    expect(parseEndpoint("tcp://127.0.0.1:1", "connect")).toMatchObject({ port: 1 });
    expect(parseEndpoint("tcp://127.0.0.1:65535", "connect")).toMatchObject({ port: 65535 });
  });

  it.each([
    ["no port", "tcp://127.0.0.1"],
    ["no host", "tcp://:5555"],
    ["empty brackets", "tcp://[]:5555"],
    ["unclosed bracket", "tcp://[::1:5555"],
    ["a source address (tcp://src;dst)", "tcp://127.0.0.1:6000;127.0.0.1:5555"],
  ])("rejects %s", (_what, address) => {
    expect(codeOf(() => parseEndpoint(address, "connect"))).toBe("EINVAL");
  });
});

describe("parseEndpoint: ipc and inproc", () => {
  it("keeps an ipc path as given", () => {
    expect(parseEndpoint("ipc:///tmp/some dir/x.sock", "bind")).toEqual({
      protocol: "ipc",
      path: "/tmp/some dir/x.sock",
      address: "ipc:///tmp/some dir/x.sock",
    });
    expect(parseEndpoint("ipc://relative.sock", "connect")).toMatchObject({ path: "relative.sock" });
  });

  it("keeps an inproc name as given", () => {
    expect(parseEndpoint("inproc://my-service/v1:2", "connect")).toEqual({
      protocol: "inproc",
      name: "my-service/v1:2",
      address: "inproc://my-service/v1:2",
    });
  });

  it("needs a non-empty path or name", () => {
    expect(codeOf(() => parseEndpoint("ipc://", "bind"))).toBe("EINVAL");
    expect(codeOf(() => parseEndpoint("inproc://", "bind"))).toBe("EINVAL");
  });
});

describe("parseEndpoint: transports and syntax", () => {
  it.each(["udp://127.0.0.1:5555", "pgm://eth0;239.192.1.1:5555", "epgm://x:1", "tipc://{5560,0,0}", "ws://127.0.0.1:80", "vmci://1:2"])(
    "rejects the unsupported transport in %s with EPROTONOSUPPORT",
    (address) => {
      expect(codeOf(() => parseEndpoint(address, "connect"))).toBe("EPROTONOSUPPORT");
    },
  );

  it.each(["", "127.0.0.1:5555", "tcp:/127.0.0.1:5555", "tcp//127.0.0.1:5555", "://x"])("rejects the malformed endpoint %j with EINVAL", (address) => {
    expect(codeOf(() => parseEndpoint(address, "bind"))).toBe("EINVAL");
  });
});

describe("formatTcp", () => {
  it("brackets IPv6 hosts as libzmq reports them", () => {
    expect(formatTcp("127.0.0.1", 5555)).toBe("tcp://127.0.0.1:5555");
    expect(formatTcp("::1", 5555)).toBe("tcp://[::1]:5555");
  });

  it("round-trips through parseEndpoint", () => {
    for (const [host, port] of [["127.0.0.1", 1], ["::ffff:127.0.0.1", 65535], ["localhost", 80]] as const) {
      expect(parseEndpoint(formatTcp(host, port), "connect")).toMatchObject({ host, port });
    }
  });
});
