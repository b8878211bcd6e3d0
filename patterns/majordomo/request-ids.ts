import { PrivateerError } from "../../src";
import type { Metadata } from "../../src/codec/metadata";
import type { RequestOptions } from "../shared/request-options";

/**
 * The Privateer request-id extension to MDP (issue #9), version 1. See
 * docs/exactly-once.md, "Wire format".
 *
 * A Privateer client, worker and broker announce it in their ZMTP READY
 * metadata; a peer adds the id frames only to a peer that announced it, so a
 * plain MDP peer never sees them.
 */

/** The READY property that announces extensions (case-insensitive, as every ZMTP property name). */
export const EXTENSION_PROPERTY = "X-Privateer-Ext";

/** The extension token for request ids; the property's value is a comma-separated list of tokens. */
export const IDS_EXTENSION = "ids";

/** The metadata a Privateer socket announces. */
export const EXTENSION_METADATA: Readonly<Record<string, string>> = Object.freeze({ [EXTENSION_PROPERTY]: IDS_EXTENSION });

/** The tag frame that precedes the id frame; its trailing digit is the layout version. */
export const ID_TAG = Buffer.from("PX-ID1", "latin1");

/** Longest request id, in UTF-8 bytes. */
export const MAX_ID_LENGTH = 255;

/** Whether a peer's READY metadata announces the request-id extension. */
export function announcesIds(metadata: Metadata | undefined): boolean {
  if (!metadata) return false;
  // Property names are case-insensitive; iterating does not depend on the map doing that for us.
  for (const [name, value] of metadata) {
    if (name.toLowerCase() === EXTENSION_PROPERTY.toLowerCase()) return hasToken(value);
  }
  return false;
}

function hasToken(value: Buffer): boolean {
  return value
    .toString("latin1")
    .split(",")
    .some((token) => token.trim() === IDS_EXTENSION);
}

/** Prefixes a body with the id frames. An empty body becomes one empty frame first, as MDP sends it. */
export function withRequestId(id: string, body: readonly Buffer[]): Buffer[] {
  return [ID_TAG, Buffer.from(id), ...(body.length === 0 ? [Buffer.alloc(0)] : body)];
}

/**
 * Takes the id frames off a body that came from a peer speaking the
 * extension; a body that does not start with the tag carries no id.
 */
export function takeRequestId(body: readonly Buffer[]): { id?: string; body: Buffer[] } {
  const [tag, id, ...rest] = body;
  if (!tag || !id || !tag.equals(ID_TAG) || id.length === 0 || id.length > MAX_ID_LENGTH) return { body: [...body] };
  return { id: id.toString(), body: rest };
}

/** Per-request options of the Majordomo clients: {@link RequestOptions} plus the request's id. */
export interface MajordomoRequestOptions extends RequestOptions {
  /**
   * The request's id on the wire (1 to 255 UTF-8 bytes), instead of one the
   * client makes up. Give one when the request must keep its identity beyond
   * this client object: an application that restarts and sends its
   * unfinished requests again under the same ids gets, for those already
   * handled, the recorded reply (from the broker's reply cache or the
   * worker's idempotency store) instead of a second execution. Ids must be
   * unique per service across every client of the service: two requests
   * with one id are one request. A request whose id is still in use by an
   * unsettled request of the same client fails with code EINVAL. Only sent
   * to a broker that speaks the extension (docs/exactly-once.md); a plain
   * MDP broker never sees it.
   */
  id?: string;
}

/** Validates a caller's request id; throws PrivateerError EINVAL when it cannot travel as one. */
export function checkRequestId(id: string): string {
  const length = typeof id === "string" ? Buffer.byteLength(id) : 0;
  if (length === 0 || length > MAX_ID_LENGTH) {
    throw new PrivateerError("EINVAL", `request id must be a string of 1 to ${MAX_ID_LENGTH} UTF-8 bytes (got ${typeof id === "string" ? `${length} bytes` : typeof id})`);
  }
  return id;
}
