import { Pipe } from "../../src/pipe/pipe";
import { Distributor } from "../../src/routing/distributor";

const pipe = (hwm: number): Pipe => new Pipe("inproc://dist-test", hwm, 0, false);

describe("Distributor", () => {
  it("gives every pipe with room the same message, and full pipes miss it", () => {
    const [a, b, c] = [pipe(0), pipe(1), pipe(0)];
    b.write([Buffer.from("earlier")]);
    const message = [Buffer.from("topic"), Buffer.from("body")];
    expect(Distributor.sendToAll([a, b, c], message)).toBe(2);
    expect(a.takeOutbound()).toEqual(message);
    expect(c.takeOutbound()).toEqual(message);
    expect(b.takeOutbound()).toEqual([Buffer.from("earlier")]);
    expect(b.takeOutbound()).toBeUndefined();
  });

  it("reports whether every pipe has room (XPUB noDrop)", () => {
    const [a, b] = [pipe(1), pipe(1)];
    expect(Distributor.allWritable([a, b])).toBe(true);
    a.write([Buffer.from("x")]);
    expect(Distributor.allWritable([a, b])).toBe(false);
    expect(Distributor.allWritable([])).toBe(true);
    expect(Distributor.sendToAll([], [Buffer.from("x")])).toBe(0);
  });
});
