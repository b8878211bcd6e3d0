import { PPP_HEARTBEAT, PPP_READY, pppCommand, pppHeartbeatFrame, pppReadyFrame } from "privateer/internal";
import { splitEnvelope } from "../../../patterns/pirate/ppp";

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);

describe("RFC 6 command frames", () => {
  it("READY is the single byte 0x01 and HEARTBEAT the single byte 0x02", () => {
    expect(PPP_READY).toBe(0x01);
    expect(PPP_HEARTBEAT).toBe(0x02);
    expect(pppReadyFrame().equals(b(0x01))).toBe(true);
    expect(pppHeartbeatFrame().equals(b(0x02))).toBe(true);
  });

  it("returns a new buffer each time so a caller cannot corrupt the constant", () => {
    const frame = pppReadyFrame();
    frame[0] = 0x7f;
    expect(pppReadyFrame()[0]).toBe(0x01);
  });

  it("recognises commands only as one-frame, one-byte messages", () => {
    expect(pppCommand([b(0x01)])).toBe("ready");
    expect(pppCommand([b(0x02)])).toBe("heartbeat");
    expect(pppCommand([b(0x03)])).toBeUndefined();
    expect(pppCommand([b(0x01, 0x00)])).toBeUndefined();
    expect(pppCommand([b(0x02), b(0x02)])).toBeUndefined();
    expect(pppCommand([Buffer.from("client"), Buffer.alloc(0), b(0x02)])).toBeUndefined();
    expect(pppCommand([])).toBeUndefined();
  });

  it("splits a request at its null terminator, keeping a multi-hop address stack", () => {
    const frames = [Buffer.from("c1"), Buffer.from("c2"), Buffer.alloc(0), Buffer.from("x"), Buffer.alloc(0)];
    const { envelope, body } = splitEnvelope(frames);
    expect(envelope.map(String)).toEqual(["c1", "c2", ""]);
    expect(body.map(String)).toEqual(["x", ""]);
    expect(splitEnvelope([Buffer.from("bare")])).toEqual({ envelope: [], body: [Buffer.from("bare")] });
  });
});
