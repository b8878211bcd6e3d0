import { Dealer, Reply, Request, type SocketBase } from "../../src";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { untilQueued } from "../helpers/sockets";

/**
 * REP semantics (RFC 28; libzmq's test_spec_rep), over every transport.
 */

describe.each(TRANSPORTS)("REP over %s", (transport) => {
  const sockets: SocketBase[] = [];
  const track = <T extends SocketBase>(socket: T): T => {
    sockets.push(socket);
    return socket;
  };
  afterEach(() => closeAll(...sockets.splice(0)));

  it("answers each REQ with its own reply", async () => {
    const rep = track(new Reply());
    const reqs = [0, 1, 2].map(() => track(new Request()));
    await link(rep, reqs, transport);

    await Promise.all(reqs.map((req, i) => req.send(`from-${i}`)));
    for (let n = 0; n < reqs.length; n++) {
      const [body] = text(await rep.receive());
      await rep.send(`re:${body}`);
    }
    const replies = await Promise.all(reqs.map((req) => req.receive()));
    expect(replies.map(text)).toEqual([["re:from-0"], ["re:from-1"], ["re:from-2"]]);
  });

  it("fair-queues requests from several REQs and DEALERs", async () => {
    const rep = track(new Reply());
    const reqs = [0, 1].map(() => track(new Request()));
    const dealers = [0, 1].map(() => track(new Dealer()));
    await link(rep, [...reqs, ...dealers], transport);

    // Each DEALER pipelines three requests; each REQ can only have one outstanding.
    for (const [i, req] of reqs.entries()) await req.send(`req${i}`);
    for (const [i, dealer] of dealers.entries()) {
      for (let k = 0; k < 3; k++) await dealer.send(["", `dealer${i}-${k}`]);
    }
    await untilQueued(rep, 4);

    const order: string[] = [];
    for (let n = 0; n < 8; n++) {
      const [body] = text(await rep.receive());
      order.push(body!);
      await rep.send(`re:${body}`);
    }
    // One request from each peer before any peer gets a second turn.
    expect(new Set(order.slice(0, 4).map((body) => body.replace(/-\d$/, ""))).size).toBe(4);
    // A DEALER's requests keep their order.
    for (const i of [0, 1]) {
      expect(order.filter((body) => body.startsWith(`dealer${i}`))).toEqual([`dealer${i}-0`, `dealer${i}-1`, `dealer${i}-2`]);
    }

    for (const [i, req] of reqs.entries()) expect(text(await req.receive())).toEqual([`re:req${i}`]);
    for (const [i, dealer] of dealers.entries()) {
      for (let k = 0; k < 3; k++) expect(text(await dealer.receive())).toEqual(["", `re:dealer${i}-${k}`]);
    }
  });

  it("restores the envelope on the reply, however many routing frames it has", async () => {
    const rep = track(new Reply());
    const dealer = track(new Dealer());
    await link(rep, [dealer], transport);

    // Minimal envelope: just the delimiter.
    await dealer.send(["", "A"]);
    expect(text(await rep.receive())).toEqual(["A"]);
    await rep.send("B");
    expect(text(await dealer.receive())).toEqual(["", "B"]);

    // A multi-hop envelope, as a chain of ROUTERs would build it.
    const hop = Buffer.from([0x00, 0x01, 0x02, 0xff]);
    await dealer.send(["X", hop, "Y", "", "C", "D"]);
    expect(text(await rep.receive())).toEqual(["C", "D"]);
    await rep.send(["E", "F"]);
    const reply = await dealer.receive();
    expect(reply).toHaveLength(6);
    expect(reply[1]!.equals(hop)).toBe(true);
    expect(text([reply[0]!, ...reply.slice(2)])).toEqual(["X", "Y", "", "E", "F"]);
  });

  it("refuses to send before it has received a request (EFSM)", async () => {
    const rep = track(new Reply());
    const req = track(new Request());
    await link(rep, [req], transport);

    await expect(rep.send("unasked")).rejects.toMatchObject({ code: "EFSM" });
    await req.send("q");
    expect(text(await rep.receive())).toEqual(["q"]);
    await rep.send("a");
    // One reply per request.
    await expect(rep.send("again")).rejects.toMatchObject({ code: "EFSM" });
    expect(text(await req.receive())).toEqual(["a"]);
  });

  it("discards a message without a delimiter (or with nothing after it) from a DEALER", async () => {
    const rep = track(new Reply());
    const dealer = track(new Dealer());
    await link(rep, [dealer], transport);

    await dealer.send("no-delimiter");
    await dealer.send(["X", "still-none"]);
    await dealer.send(["X", ""]);
    await dealer.send(["", "good"]);
    expect(text(await rep.receive())).toEqual(["good"]);
    await rep.send("reply");
    expect(text(await dealer.receive())).toEqual(["", "reply"]);
  });

  it("drops the reply to a REQ that went away, and keeps serving the others", async () => {
    const rep = track(new Reply());
    const gone = track(new Request());
    const stays = track(new Request());
    await link(rep, [gone, stays], transport);

    await gone.send("from-gone");
    expect(text(await rep.receive())).toEqual(["from-gone"]);
    // inproc tears the pipe down inside close(); stream transports report it.
    const disconnected = transport === "inproc" ? Promise.resolve() : nextEvent(rep, "disconnect");
    closeAll(gone);
    await disconnected;
    await rep.send("for-gone");

    await stays.send("from-stays");
    expect(text(await rep.receive())).toEqual(["from-stays"]);
    await rep.send("for-stays");
    expect(text(await stays.receive())).toEqual(["for-stays"]);
  });

  it("lets a REP connect to a bound REQ", async () => {
    const req = track(new Request());
    const rep = track(new Reply());
    await link(req, [rep], transport);
    await req.send("hello");
    expect(text(await rep.receive())).toEqual(["hello"]);
    await rep.send("world");
    expect(text(await req.receive())).toEqual(["world"]);
  });

  it("keeps one request at a time: the next is received only after the reply", async () => {
    const rep = track(new Reply());
    const dealer = track(new Dealer());
    await link(rep, [dealer], transport);

    await dealer.send(["", "one"]);
    await dealer.send(["", "two"]);
    expect(text(await rep.receive())).toEqual(["one"]);
    await untilQueued(rep, 1);
    let second: string[] | undefined;
    const pending = rep.receive().then((message) => (second = text(message)));
    // "two" is waiting, yet the receive stays pending while "one" is unanswered.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(second).toBeUndefined();
    await rep.send("re:one");
    await pending;
    expect(second).toEqual(["two"]);
    await rep.send("re:two");
    expect(text(await dealer.receive())).toEqual(["", "re:one"]);
    expect(text(await dealer.receive())).toEqual(["", "re:two"]);
  });

  it("rejects a pending receive() with EAGAIN when closed", async () => {
    const rep = track(new Reply());
    await rep.bind(bindAddress(transport));
    const pending = rep.receive();
    closeAll(rep);
    await expect(pending).rejects.toMatchObject({ code: "EAGAIN" });
  });
});
