import fc from "fast-check";
import { Pipe, type PipeLink, type PipeOwner } from "../../src/pipe/pipe";
import type { PeerInfo } from "../../src";

/** Records what the pipe tells its socket. */
class Owner implements PipeOwner {
  readonly calls: string[] = [];
  pipeReadable(): void {
    this.calls.push("readable");
  }
  pipeWritable(): void {
    this.calls.push("writable");
  }
  pipeConnected(): void {
    this.calls.push("connected");
  }
  pipeDisconnected(): void {
    this.calls.push("disconnected");
  }
  pipeClosed(): void {
    this.calls.push("closed");
  }
}

/** Records what the pipe tells its transport. */
class Link implements PipeLink {
  readonly calls: string[] = [];
  flushed = true;
  outboundReady(): void {
    this.calls.push("outboundReady");
  }
  inboundDrained(): void {
    this.calls.push("inboundDrained");
  }
  detach(): void {
    this.calls.push("detach");
  }
}

const peer: PeerInfo = { socketType: "PULL", routingId: Buffer.alloc(0), metadata: new Map(), protocol: "ZMTP/3.1" };
const msg = (text: string): Buffer[] => [Buffer.from(text)];
const str = (message: Buffer[] | undefined): string | undefined => message?.map((f) => f.toString()).join("|");

function makePipe(options: { sendHwm?: number; receiveHwm?: number; persistent?: boolean } = {}): {
  pipe: Pipe;
  owner: Owner;
} {
  const pipe = new Pipe("tcp://127.0.0.1:1", options.sendHwm ?? 3, options.receiveHwm ?? 3, options.persistent ?? false);
  const owner = new Owner();
  pipe.owner = owner;
  return { pipe, owner };
}

describe("Pipe outbound queue", () => {
  it("accepts whole messages up to sendHighWaterMark, then refuses without queuing", () => {
    const { pipe } = makePipe({ sendHwm: 2 });
    expect(pipe.write(msg("a"))).toBe(true);
    expect(pipe.write(msg("b"))).toBe(true);
    expect(pipe.writable).toBe(false);
    expect(pipe.write(msg("c"))).toBe(false);
    expect(pipe.outboundLength).toBe(2);
    expect(str(pipe.takeOutbound())).toBe("a");
    expect(str(pipe.takeOutbound())).toBe("b");
    expect(pipe.takeOutbound()).toBeUndefined();
  });

  it("is unbounded with sendHighWaterMark 0", () => {
    const { pipe } = makePipe({ sendHwm: 0 });
    for (let i = 0; i < 10000; i++) expect(pipe.write(msg(String(i)))).toBe(true);
    expect(pipe.outboundLength).toBe(10000);
  });

  it("tells the owner it is writable again exactly when a full queue gets room", () => {
    const { pipe, owner } = makePipe({ sendHwm: 2 });
    pipe.write(msg("a"));
    pipe.write(msg("b"));
    pipe.takeOutbound();
    pipe.takeOutbound();
    expect(owner.calls.filter((c) => c === "writable")).toHaveLength(1);
  });

  it("lets forceWrite pass the high-water mark, and signals room only once back below it", () => {
    const { pipe, owner } = makePipe({ sendHwm: 1 });
    pipe.write(msg("data"));
    pipe.forceWrite(msg("subscription"));
    expect(pipe.outboundLength).toBe(2);
    pipe.takeOutbound();
    expect(owner.calls).not.toContain("writable");
    pipe.takeOutbound();
    expect(owner.calls).toContain("writable");
  });

  it("wakes the link on each write once attached, and on attach when messages wait", () => {
    const { pipe, owner } = makePipe();
    pipe.write(msg("early"));
    const link = new Link();
    pipe.attach(link, peer);
    expect(owner.calls).toEqual(["connected"]);
    expect(link.calls).toEqual(["outboundReady"]);
    expect(pipe.connected).toBe(true);
    expect(pipe.peer).toBe(peer);
    pipe.write(msg("later"));
    expect(link.calls).toEqual(["outboundReady", "outboundReady"]);
  });

  it("is flushed only when nothing is queued and the link has written everything", () => {
    const { pipe } = makePipe();
    const link = new Link();
    pipe.attach(link, peer);
    expect(pipe.flushed).toBe(true);
    pipe.write(msg("x"));
    expect(pipe.flushed).toBe(false);
    pipe.takeOutbound();
    link.flushed = false;
    expect(pipe.flushed).toBe(false);
    link.flushed = true;
    expect(pipe.flushed).toBe(true);
  });

  it("keeps FIFO order for any interleaving of writes and takes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(fc.boolean(), { maxLength: 200 }), (hwm, ops) => {
        const { pipe } = makePipe({ sendHwm: hwm });
        let written = 0;
        let taken = 0;
        for (const write of ops) {
          if (write) {
            const accepted = pipe.write(msg(String(written)));
            const shouldAccept = hwm === 0 || written - taken < hwm;
            if (accepted !== shouldAccept) return false;
            if (accepted) written++;
          } else {
            const next = pipe.takeOutbound();
            if (taken === written) {
              if (next !== undefined) return false;
            } else if (str(next) !== String(taken++)) {
              return false;
            }
          }
        }
        return pipe.outboundLength === written - taken;
      }),
    );
  });
});

describe("Pipe inbound queue", () => {
  it("tells the owner it is readable only when it goes from empty to non-empty", () => {
    const { pipe, owner } = makePipe();
    pipe.deliver(msg("a"));
    pipe.deliver(msg("b"));
    expect(owner.calls).toEqual(["readable"]);
    pipe.read();
    pipe.read();
    pipe.deliver(msg("c"));
    expect(owner.calls).toEqual(["readable", "readable"]);
  });

  it("reports full at receiveHighWaterMark and asks the link to resume once below it", () => {
    const { pipe } = makePipe({ receiveHwm: 2 });
    const link = new Link();
    pipe.attach(link, peer);
    pipe.deliver(msg("a"));
    expect(pipe.inboundFull).toBe(false);
    pipe.deliver(msg("b"));
    expect(pipe.inboundFull).toBe(true);
    // A chunk may hold more messages than the mark; they are kept, not dropped.
    pipe.deliver(msg("c"));
    expect(str(pipe.read())).toBe("a");
    expect(link.calls).not.toContain("inboundDrained");
    expect(str(pipe.read())).toBe("b");
    expect(link.calls).toEqual(["inboundDrained"]);
    expect(pipe.inboundFull).toBe(false);
    expect(str(pipe.read())).toBe("c");
  });

  it("is never full with receiveHighWaterMark 0", () => {
    const { pipe } = makePipe({ receiveHwm: 0 });
    for (let i = 0; i < 5000; i++) pipe.deliver(msg(String(i)));
    expect(pipe.inboundFull).toBe(false);
  });

});

describe("Pipe lifecycle", () => {
  it("keeps a persistent pipe and its queued messages across a lost connection", () => {
    const { pipe, owner } = makePipe({ persistent: true });
    const first = new Link();
    pipe.attach(first, peer);
    pipe.write(msg("queued"));
    pipe.detach(first);
    expect(owner.calls).toEqual(["connected", "disconnected"]);
    expect(pipe.closed).toBe(false);
    expect(pipe.isEnding).toBe(false);
    expect(pipe.connected).toBe(false);
    expect(pipe.peer).toBeUndefined();
    expect(pipe.writable).toBe(true);

    const second = new Link();
    pipe.attach(second, peer);
    expect(second.calls).toEqual(["outboundReady"]);
    expect(str(pipe.takeOutbound())).toBe("queued");
  });

  it("closes a non-persistent pipe whose connection ends once its unread messages are read", async () => {
    const { pipe, owner } = makePipe({ persistent: false });
    const link = new Link();
    pipe.attach(link, peer);
    pipe.deliver(msg("last"));
    pipe.detach(link);
    expect(pipe.isEnding).toBe(true);
    expect(pipe.closed).toBe(false);
    expect(pipe.writable).toBe(false);
    expect(pipe.write(msg("too late"))).toBe(false);
    expect(str(pipe.read())).toBe("last");
    await Promise.resolve();
    expect(pipe.closed).toBe(true);
    expect(owner.calls).toEqual(["connected", "readable", "disconnected", "closed"]);
  });

  it("closes a non-persistent pipe at once when nothing is left to read", () => {
    const { pipe, owner } = makePipe({ persistent: false });
    const link = new Link();
    pipe.attach(link, peer);
    pipe.detach(link);
    expect(pipe.closed).toBe(true);
    expect(owner.calls).toEqual(["connected", "disconnected", "closed"]);
  });

  it("ignores the end of a link it no longer uses", () => {
    const { pipe, owner } = makePipe({ persistent: true });
    const old = new Link();
    const current = new Link();
    pipe.attach(old, peer);
    pipe.detach(old);
    pipe.attach(current, peer);
    pipe.detach(old);
    expect(pipe.connected).toBe(true);
    expect(owner.calls.filter((c) => c === "disconnected")).toHaveLength(1);
  });

  it("drops everything, detaches the link and tells the owner once on close", () => {
    const { pipe, owner } = makePipe();
    const link = new Link();
    pipe.attach(link, peer);
    pipe.write(msg("out"));
    pipe.deliver(msg("in"));
    pipe.close();
    pipe.close();
    expect(link.calls).toContain("detach");
    expect(owner.calls.filter((c) => c === "closed")).toHaveLength(1);
    expect(pipe.readable).toBe(false);
    expect(pipe.outboundLength).toBe(0);
    expect(pipe.write(msg("x"))).toBe(false);
    pipe.forceWrite(msg("y"));
    expect(pipe.outboundLength).toBe(0);
    pipe.deliver(msg("z"));
    expect(pipe.readable).toBe(false);
  });

  it("gives every pipe its own id", () => {
    const ids = new Set(Array.from({ length: 10 }, () => makePipe().pipe.id));
    expect(ids.size).toBe(10);
  });
});
