import fc from "fast-check";
import { decodeCommand, encodeCommand } from "../../src/codec/command";
import {
  encodeSubscription,
  encodeSubscriptionCommand,
  isSubscription,
  parseSubscription,
  SUBSCRIBE,
  UNSUBSCRIBE,
} from "../../src/codec/subscription";

const ascii = (text: string): number[] => [...Buffer.from(text, "ascii")];
const topicArb = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));

describe("subscription message form (RFC 29: 0x01/0x00 + topic)", () => {
  it("uses the bytes RFC 29 gives: 1 subscribes, 0 unsubscribes", () => {
    expect(SUBSCRIBE).toBe(1);
    expect(UNSUBSCRIBE).toBe(0);
    expect(encodeSubscription(true, Buffer.from("A"))).toEqual(Buffer.from([0x01, 0x41]));
    expect(encodeSubscription(false, Buffer.from("A"))).toEqual(Buffer.from([0x00, 0x41]));
  });

  it("encodes the empty topic as the lone flag byte, and parses it back to an empty topic", () => {
    const frame = encodeSubscription(true, Buffer.alloc(0));
    expect(frame).toEqual(Buffer.from([0x01]));
    const parsed = parseSubscription(frame);
    expect(parsed?.subscribe).toBe(true);
    expect(parsed?.topic.length).toBe(0);
  });

  it("round-trips any topic and direction", () => {
    fc.assert(
      fc.property(fc.boolean(), topicArb, (subscribe, topic) => {
        const frame = encodeSubscription(subscribe, topic);
        expect(isSubscription(frame)).toBe(true);
        const parsed = parseSubscription(frame);
        expect(parsed).toBeDefined();
        expect(parsed!.subscribe).toBe(subscribe);
        expect(parsed!.topic).toEqual(topic);
      }),
    );
  });

  it("copies the topic, so a caller reusing its buffer does not change a queued subscription", () => {
    const topic = Buffer.from("abc");
    const frame = encodeSubscription(true, topic);
    topic.fill(0x7a);
    expect(frame).toEqual(Buffer.from([0x01, ...ascii("abc")]));
  });

  it("parses the topic as a view of the frame, not a copy", () => {
    const frame = Buffer.from([0x00, ...ascii("xy")]);
    const parsed = parseSubscription(frame)!;
    frame[1] = 0x51;
    expect(parsed.topic.toString("latin1")).toBe("Qy");
  });

  it.each([
    ["an empty frame", Buffer.alloc(0)],
    ["a frame starting with 0x02", Buffer.from([0x02, 0x41])],
    ["a frame starting with 0xff", Buffer.from([0xff])],
    ["ordinary text", Buffer.from("hello")],
  ])("reports %s as no subscription (undefined), without throwing", (_what, frame) => {
    expect(isSubscription(frame)).toBe(false);
    expect(parseSubscription(frame)).toBeUndefined();
  });

  it("agrees with isSubscription on every frame", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (bytes) => {
        const frame = Buffer.from(bytes);
        const expected = bytes.length > 0 && bytes[0]! <= 1;
        expect(isSubscription(frame)).toBe(expected);
        expect(parseSubscription(frame) !== undefined).toBe(expected);
      }),
    );
  });
});

describe("subscription command form (RFC 37: SUBSCRIBE / CANCEL)", () => {
  it("writes the bytes RFC 37 gives for SUBSCRIBE and CANCEL", () => {
    expect(encodeSubscriptionCommand(Buffer.from([0x01, ...ascii("topic")]))).toEqual(
      Buffer.from([9, ...ascii("SUBSCRIBE"), ...ascii("topic")]),
    );
    expect(encodeSubscriptionCommand(Buffer.from([0x00, ...ascii("topic")]))).toEqual(
      Buffer.from([6, ...ascii("CANCEL"), ...ascii("topic")]),
    );
  });

  it("writes a command with no data for the empty topic", () => {
    expect(encodeSubscriptionCommand(Buffer.from([0x01]))).toEqual(Buffer.from([9, ...ascii("SUBSCRIBE")]));
    expect(encodeSubscriptionCommand(Buffer.from([0x00]))).toEqual(Buffer.from([6, ...ascii("CANCEL")]));
  });

  it("gives undefined, not a command, for a frame that is no subscription", () => {
    expect(encodeSubscriptionCommand(Buffer.alloc(0))).toBeUndefined();
    expect(encodeSubscriptionCommand(Buffer.from([0x02, 0x41]))).toBeUndefined();
  });

  it("round-trips through decodeCommand (how the engine reads it) back to the same message form", () => {
    fc.assert(
      fc.property(fc.boolean(), topicArb, (subscribe, topic) => {
        const message = encodeSubscription(subscribe, topic);
        const body = encodeSubscriptionCommand(message)!;
        // The same bytes as the general command encoder gives.
        expect(body).toEqual(encodeCommand(subscribe ? { name: "SUBSCRIBE", topic } : { name: "CANCEL", topic }));
        const command = decodeCommand(body);
        expect(command.name).toBe(subscribe ? "SUBSCRIBE" : "CANCEL");
        if (command.name !== "SUBSCRIBE" && command.name !== "CANCEL") return;
        expect(command.topic).toEqual(topic);
        expect(encodeSubscription(command.name === "SUBSCRIBE", command.topic)).toEqual(message);
      }),
    );
  });
});
