/**
 * The ZAP requester every socket hands its engines (src/socket/zap-requester.ts):
 * what it sends to the handler on inproc://zeromq.zap.01 and how it reads the
 * answer, against a raw ROUTER standing in for the handler so each reply can
 * be chosen (stale, malformed, none).
 */
import { Router } from "../../src";
import { encodeMetadata } from "../../src/codec/metadata";
import type { ZapRequest } from "../../src/engine/mechanism";
import { ZAP_ENDPOINT_NAME } from "../../src/engine/mechanism/zap-client";
import { askZap } from "../../src/socket/zap-requester";
import { closeAll, text } from "../helpers/endpoints";

const request: ZapRequest = {
  domain: "global",
  address: "127.0.0.1",
  identity: Buffer.from("server-id"),
  mechanism: "PLAIN",
  credentials: [Buffer.from("ann"), Buffer.from("secret")],
};

/** A handler that answers nothing by itself: each test reads the request and replies as it likes. */
async function bindHandler(): Promise<Router> {
  const handler = new Router({ linger: 0 });
  await handler.bind(`inproc://${ZAP_ENDPOINT_NAME}`);
  return handler;
}

describe("askZap", () => {
  let handler: Router | undefined;
  afterEach(() => {
    closeAll(handler);
    handler = undefined;
  });

  it("answers undefined, sending nothing, when no handler is bound", async () => {
    await expect(askZap(request)).resolves.toBeUndefined();
  });

  it("sends RFC 27's request frames behind an empty delimiter and returns the handler's reply", async () => {
    handler = await bindHandler();
    const answer = askZap(request);
    const [peer, ...frames] = await handler.receive();
    const id = frames[2]!.toString();
    expect(text(frames)).toEqual(["", "1.0", id, "global", "127.0.0.1", "server-id", "PLAIN", "ann", "secret"]);
    await handler.send([peer!, "", "1.0", id, "200", "OK", "ann-id", encodeMetadata([["X-Role", "admin"]])]);
    const reply = await answer;
    expect(reply).toMatchObject({ statusCode: "200", statusText: "OK", userId: "ann-id" });
    expect(reply?.metadata.get("x-role")?.toString()).toBe("admin");
  });

  it("skips a reply to another request id and waits for its own", async () => {
    handler = await bindHandler();
    const answer = askZap(request);
    const [peer, , , idFrame] = await handler.receive();
    const id = idFrame!.toString();
    await handler.send([peer!, "", "1.0", `${id}-stale`, "200", "OK", "someone-else", Buffer.alloc(0)]);
    await handler.send([peer!, "", "1.0", id, "400", "No", "", Buffer.alloc(0)]);
    await expect(answer).resolves.toMatchObject({ statusCode: "400", statusText: "No" });
  });

  it.each([
    ["six frames", (id: string) => ["", "1.0", id, "200", "OK", "ann-id"], "ZAP reply does not have 7 frames"],
    ["a bad version", (id: string) => ["", "2.0", id, "200", "OK", "ann-id", Buffer.alloc(0)], "ZAP reply has a bad version"],
    ["malformed metadata", (id: string) => ["", "1.0", id, "200", "OK", "ann-id", Buffer.from([5, 0x41])], "ZAP reply has malformed metadata"],
  ])("turns a reply with %s into status 500, never an allow", async (_what, reply, why) => {
    handler = await bindHandler();
    const answer = askZap(request);
    const [peer, , , idFrame] = await handler.receive();
    await handler.send([peer!, ...reply(idFrame!.toString())]);
    await expect(answer).resolves.toEqual({ statusCode: "500", statusText: why, userId: "", metadata: new Map() });
  });

  it("gives up when its signal aborts (the handshake timed out) while the handler stays silent", async () => {
    handler = await bindHandler();
    const abort = new AbortController();
    const answer = askZap(request, abort.signal);
    await handler.receive();
    abort.abort();
    await expect(answer).rejects.toMatchObject({ code: "EAGAIN" });
  });
});
