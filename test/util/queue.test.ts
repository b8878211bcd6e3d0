import fc from "fast-check";
import { Queue } from "../../src/util/queue";

describe("Queue", () => {
  it("is first in, first out", () => {
    const queue = new Queue<number>();
    for (let i = 0; i < 5; i++) queue.push(i);
    expect(queue.length).toBe(5);
    expect(queue.peek()).toBe(0);
    expect([queue.shift(), queue.shift()]).toEqual([0, 1]);
    expect(queue.drain()).toEqual([2, 3, 4]);
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
  });

  it("grows past its capacity while the ring has wrapped around, keeping order", () => {
    const queue = new Queue<number>(4);
    // Move the head to the middle of the ring so the next pushes wrap.
    for (let i = 0; i < 3; i++) queue.push(-1);
    for (let i = 0; i < 3; i++) queue.shift();
    for (let i = 0; i < 100; i++) queue.push(i);
    expect(queue.length).toBe(100);
    expect(queue.drain()).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("puts an item back at the front with unshift, growing if it must", () => {
    const queue = new Queue<string>(2);
    queue.push("b");
    queue.push("c");
    queue.unshift("a"); // the ring is full here
    queue.unshift("z");
    expect(queue.peek()).toBe("z");
    expect(queue.drain()).toEqual(["z", "a", "b", "c"]);
  });

  it("unshifts into an empty queue", () => {
    const queue = new Queue<string>();
    queue.unshift("only");
    expect(queue.length).toBe(1);
    expect(queue.shift()).toBe("only");
  });

  it("empties on clear and keeps working afterwards", () => {
    const queue = new Queue<number>(1);
    for (let i = 0; i < 40; i++) queue.push(i);
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
    for (let i = 0; i < 40; i++) queue.push(i);
    expect(queue.drain()).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("behaves like an array under any sequence of push, unshift and shift", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("push" as const), value: fc.integer() }),
      fc.record({ kind: fc.constant("unshift" as const), value: fc.integer() }),
      fc.record({ kind: fc.constant("shift" as const) }),
      fc.record({ kind: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 300 }), (capacity, ops) => {
        const queue = new Queue<number>(capacity);
        const model: number[] = [];
        for (const step of ops) {
          switch (step.kind) {
            case "push":
              queue.push(step.value);
              model.push(step.value);
              break;
            case "unshift":
              queue.unshift(step.value);
              model.unshift(step.value);
              break;
            case "shift":
              expect(queue.shift()).toBe(model.shift());
              break;
            case "clear":
              queue.clear();
              model.length = 0;
              break;
          }
          expect(queue.length).toBe(model.length);
          expect(queue.peek()).toBe(model[0]);
        }
        expect(queue.drain()).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
  it("iterates front to back and removeWhere keeps the order of both parts, on a wrapped ring, like an array", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 7 }),
        (offset, items, divisor) => {
          const queue = new Queue<number>(4);
          // Wrap the ring first, so indices cross the end of the buffer.
          for (let i = 0; i < offset; i++) queue.push(-1);
          for (let i = 0; i < offset; i++) queue.shift();
          for (const item of items) queue.push(item);
          expect([...queue]).toEqual(items);
          const removed = queue.removeWhere((item) => item % divisor === 0);
          expect(removed).toEqual(items.filter((item) => item % divisor === 0));
          expect([...queue]).toEqual(items.filter((item) => item % divisor !== 0));
          expect(queue.length).toBe(items.length - removed.length);
          // The queue still works as a queue afterwards.
          queue.push(1000);
          queue.unshift(-1000);
          expect(queue.drain()).toEqual([-1000, ...items.filter((item) => item % divisor !== 0), 1000]);
        },
      ),
    );
  });
});
