/**
 * One Majordomo service's state (patterns/majordomo/service.ts): the broker
 * engine relies on it to pair the oldest request with the worker idle
 * longest, to put a failed worker's request back at the head of the queue,
 * and to expire queued requests exactly at their deadline. Each guarantee is
 * a check run against the real class and, as its negative control, against
 * a variant broken in that one respect, which the check must reject.
 */
import { RequestRecord, Service, type WorkerRecord } from "../../../patterns/majordomo/service";

let nextId = 0;
const request = (client = "C", expiresAt?: number): RequestRecord => {
  const made = new RequestRecord(++nextId, Buffer.from(client), "0.2", false, "echo", Buffer.from(`body${nextId}`), undefined);
  made.expiresAt = expiresAt;
  return made;
};
const worker = (name: string): WorkerRecord => ({
  id: Buffer.from(name),
  key: Buffer.from(name).toString("hex"),
  version: "0.2",
  delimited: false,
  service: "echo",
  lastSeen: 0,
  expiresAt: 0,
});

/** Pairs until nothing pairs; returns "worker<-request id" for each pair. */
function pairAll(service: Service): string[] {
  const pairs: string[] = [];
  for (let w = service.pair(); w !== undefined; w = service.pair()) pairs.push(`${w.id.toString()}<-${w.request!.id}`);
  return pairs;
}

/** Requests go out oldest first, each to the worker idle longest, and only while both wait. */
function checkPairing(make: () => Service): void {
  const service = make();
  const [a, b, c] = [worker("A"), worker("B"), worker("C")];
  service.addWorker(a);
  service.addWorker(b);
  service.addWorker(c);
  const [r1, r2] = [request(), request()];
  service.enqueue(r1, undefined);
  service.enqueue(r2, undefined);
  expect(pairAll(service)).toEqual([`A<-${r1.id}`, `B<-${r2.id}`]);
  expect([service.idleCount, service.queued]).toEqual([1, 0]);
  // A finishes: it queues behind C, which has waited longer.
  service.release(a);
  const [r3, r4, r5] = [request(), request(), request()];
  service.enqueue(r3, undefined);
  service.enqueue(r4, undefined);
  service.enqueue(r5, undefined);
  expect(pairAll(service)).toEqual([`C<-${r3.id}`, `A<-${r4.id}`]);
  expect([service.idleCount, service.queued]).toEqual([0, 1]);
  service.release(b);
  expect(pairAll(service)).toEqual([`B<-${r5.id}`]);
}

/** A worker's failure puts its request at the head of the queue, ahead of those queued after it. */
function checkRequeueAtFront(make: () => Service): void {
  const service = make();
  const a = worker("A");
  service.addWorker(a);
  const first = request();
  service.enqueue(first, undefined);
  expect(pairAll(service)).toEqual([`A<-${first.id}`]);
  const later = [request(), request()];
  for (const r of later) service.enqueue(r, undefined);
  const held = service.removeWorker(a);
  expect(held).toBe(first);
  service.requeueFront(held!, undefined);
  const b = worker("B");
  service.addWorker(b);
  expect(pairAll(service)).toEqual([`B<-${first.id}`]);
  expect(first.attempts).toBe(2);
}

/** A queued request expires at its deadline, not a millisecond before; the others keep their order. */
function checkExpiry(make: () => Service): void {
  const service = make();
  const [r1, r2, r3] = [request("C", 100), request("C", 50), request("C", 200)];
  for (const r of [r1, r2, r3]) service.enqueue(r, r.expiresAt);
  expect(service.expire(49)).toEqual({ expired: [], next: 50 });
  const at50 = service.expire(50);
  expect(at50.expired).toEqual([r2]);
  expect(at50.next).toBe(100);
  expect(r2.expiresAt).toBeUndefined();
  const at200 = service.expire(200);
  expect(at200.expired.map((r) => r.id)).toEqual([r1.id, r3.id]);
  expect(at200.next).toBeUndefined();
  expect(service.queued).toBe(0);
}

describe("Service", () => {
  it("pairs the oldest request with the worker idle longest, only while both wait", () => {
    checkPairing(() => new Service("echo"));
  });

  it("negative control: a service that hands work to the most recently idle worker fails the pairing check", () => {
    class MostRecentFirst extends Service {
      override release(w: WorkerRecord): void {
        super.release(w);
        const idle = Reflect.get(this, "idle") as WorkerRecord[];
        idle.unshift(idle.pop()!);
      }
    }
    expect(() => checkPairing(() => new MostRecentFirst("echo"))).toThrow();
  });

  it("a paired worker holds the request and the address it was sent; the attempt is counted and the deadline cleared", () => {
    const service = new Service("echo");
    const r = request("client-1", 500);
    service.enqueue(r, 500);
    expect(service.pair()).toBeUndefined();
    const w = worker("W");
    service.addWorker(w);
    expect(service.pair()).toBe(w);
    expect(w.request).toBe(r);
    expect(w.requestClient).toBe(r.client);
    expect(r.attempts).toBe(1);
    expect(r.expiresAt).toBeUndefined();
    // A held request is no longer the queue's: it never expires there.
    expect(service.expire(10_000).expired).toEqual([]);
    service.release(w);
    expect([w.request, w.requestClient, service.idleCount]).toEqual([undefined, undefined, 1]);
  });

  it("puts a failed worker's request back at the head of the queue", () => {
    checkRequeueAtFront(() => new Service("echo"));
  });

  it("negative control: a service that requeues at the back fails the requeue check", () => {
    class RequeueAtBack extends Service {
      override requeueFront(r: RequestRecord, expiresAt: number | undefined): void {
        this.enqueue(r, expiresAt);
      }
    }
    expect(() => checkRequeueAtFront(() => new RequeueAtBack("echo"))).toThrow();
  });

  it("a requeued request gets the deadline it is given", () => {
    const service = new Service("echo");
    const w = worker("W");
    service.addWorker(w);
    service.enqueue(request("C", 10), 10);
    service.pair();
    const held = service.removeWorker(w)!;
    service.requeueFront(held, 300);
    expect(service.expire(299).expired).toEqual([]);
    expect(service.expire(300).expired).toEqual([held]);
  });

  it("expires queued requests exactly at their deadlines, in queue order, and reports the next deadline", () => {
    checkExpiry(() => new Service("echo"));
  });

  it("negative control: a service that expires a millisecond early fails the expiry check", () => {
    class Early extends Service {
      override expire(now: number) {
        return super.expire(now + 1);
      }
    }
    expect(() => checkExpiry(() => new Early("echo"))).toThrow();
  });

  it("negative control: a service that expires a millisecond late fails the expiry check", () => {
    class Late extends Service {
      override expire(now: number) {
        return super.expire(now - 1);
      }
    }
    expect(() => checkExpiry(() => new Late("echo"))).toThrow();
  });

  it("a removed idle worker is never paired; a removed busy one gives back what it held", () => {
    const service = new Service("echo");
    const [a, b] = [worker("A"), worker("B")];
    service.addWorker(a);
    service.addWorker(b);
    expect(service.removeWorker(a)).toBeUndefined();
    const r = request();
    service.enqueue(r, undefined);
    expect(pairAll(service)).toEqual([`B<-${r.id}`]);
    expect(service.removeWorker(b)).toBe(r);
    expect([b.request, b.requestClient]).toEqual([undefined, undefined]);
    expect(service.status()).toEqual({ name: "echo", workers: 0, idle: 0, queued: 0 });
    expect(service.unused).toBe(true);
  });

  it("takes out one client's queued requests, leaving the others in order", () => {
    const service = new Service("echo");
    const [x1, y1, x2, y2] = [request("X", 5), request("Y", 6), request("X", 7), request("Y", 8)];
    for (const r of [x1, y1, x2, y2]) service.enqueue(r, r.expiresAt);
    const taken = service.takeQueuedFrom(Buffer.from("X").toString("hex"));
    expect(taken).toEqual([x1, x2]);
    expect(taken.map((r) => r.expiresAt)).toEqual([undefined, undefined]);
    const w = worker("W");
    service.addWorker(w);
    expect(pairAll(service)).toEqual([`W<-${y1.id}`]);
    expect(service.takeAllQueued()).toEqual([y2]);
    expect(y2.expiresAt).toBeUndefined();
    expect(service.queued).toBe(0);
  });

  it("counts workers, idle workers and queued requests as MMI and the metrics report them", () => {
    const service = new Service("echo");
    expect(service.unused).toBe(true);
    service.enqueue(request(), undefined);
    expect(service.unused).toBe(false);
    const [a, b] = [worker("A"), worker("B")];
    service.addWorker(a);
    service.addWorker(b);
    service.enqueue(request(), undefined);
    service.enqueue(request(), undefined);
    expect(service.status()).toEqual({ name: "echo", workers: 2, idle: 2, queued: 3 });
    service.pair();
    expect(service.status()).toEqual({ name: "echo", workers: 2, idle: 1, queued: 2 });
    expect([service.workerCount, service.idleCount, service.queued]).toEqual([2, 1, 2]);
  });
});
