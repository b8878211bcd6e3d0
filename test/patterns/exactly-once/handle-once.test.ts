import fc from "fast-check";
import { fingerprint, handleOnce, MemoryStore, type MemoryTransaction } from "../../../patterns/exactly-once";
import { decodeReply, encodeReply } from "../../../patterns/exactly-once/store";

const frames = fc.array(fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)), { maxLength: 8 });

describe("reply encoding", () => {
  it("round-trips any list of frames, frame boundaries and empty frames included", () => {
    fc.assert(
      fc.property(frames, (reply) => {
        expect(decodeReply(encodeReply(reply))).toEqual(reply);
      }),
    );
  });

  it("tells apart replies that concatenate to the same bytes", () => {
    expect(encodeReply([Buffer.from("ab")]).equals(encodeReply([Buffer.from("a"), Buffer.from("b")]))).toBe(false);
    expect(encodeReply([]).equals(encodeReply([Buffer.alloc(0)]))).toBe(false);
  });

  it("refuses a truncated record instead of returning part of a reply", () => {
    const blob = encodeReply([Buffer.from("hello")]);
    expect(() => decodeReply(blob.subarray(0, blob.length - 1))).toThrow(expect.objectContaining({ reason: "invalid" }));
    expect(() => decodeReply(blob.subarray(0, 2))).toThrow(expect.objectContaining({ reason: "invalid" }));
  });

  it("refuses a reply that is not an array of Buffers", () => {
    expect(() => encodeReply(["text"] as unknown as Buffer[])).toThrow(expect.objectContaining({ reason: "invalid" }));
  });
});

describe("fingerprint", () => {
  it("depends on frame boundaries, not only on the bytes", () => {
    expect(fingerprint([Buffer.from("ab")])).not.toBe(fingerprint([Buffer.from("a"), Buffer.from("b")]));
    expect(fingerprint([Buffer.from("ab")])).toBe(fingerprint([Buffer.from("ab")]));
  });
});

describe("handleOnce", () => {
  it("gives the handler the body, the id and the store's transaction, and replays a redelivery", async () => {
    const store = new MemoryStore();
    const effects: string[] = [];
    const handler = jest.fn((body: Buffer[], { id, tx }: { id: string; tx: MemoryTransaction }) => {
      tx.defer(() => effects.push(id));
      return [Buffer.from(`echo ${body.map(String).join("|")}`)];
    });
    const request = { id: "r1", body: [Buffer.from("a"), Buffer.from("b")] };
    expect(await handleOnce(store, request, handler)).toEqual({ reply: [Buffer.from("echo a|b")], replayed: false });
    expect(await handleOnce(store, request, handler)).toEqual({ reply: [Buffer.from("echo a|b")], replayed: true });
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler.mock.calls[0]![1].id).toBe("r1");
    expect(effects).toEqual(["r1"]);
  });

  it("refuses an id reused with a different body, unless told not to check bodies", async () => {
    const store = new MemoryStore();
    const handler = () => [Buffer.from("ok")];
    await handleOnce(store, { id: "r", body: [Buffer.from("first")] }, handler);
    await expect(handleOnce(store, { id: "r", body: [Buffer.from("other")] }, handler)).rejects.toMatchObject({ reason: "id-reused" });

    const lax = new MemoryStore();
    await handleOnce(lax, { id: "r", body: [Buffer.from("first")] }, handler, { checkBody: false });
    expect((await handleOnce(lax, { id: "r", body: [Buffer.from("other")] }, handler, { checkBody: false })).replayed).toBe(true);
  });
});
