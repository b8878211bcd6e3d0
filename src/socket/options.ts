import type { Logger } from "pino";
import type { SchedulerLike } from "rxjs";
import { COMMAND_SIZE_MAX } from "../codec/frame-decoder";
import { isPropertyName } from "../codec/metadata";
import type { SecurityConfig } from "../engine/mechanism";
import { curveKeyOption, keyText, SecretKey } from "../engine/mechanism/curve-keys";
import { PLAIN_CREDENTIAL_MAX } from "../engine/mechanism/plain";
import { PrivateerError } from "../errors";

/** Options every socket type accepts, in the constructor or as properties. Names and defaults follow zeromq.js v6 / libzmq. */
export interface SocketOptions {
  /** Our identity, sent to the peer as `Identity` by REQ, DEALER and ROUTER (ZMQ_ROUTING_ID). Default: none. */
  routingId?: string | Buffer | null;
  /** Messages queued per peer for sending before the socket's full-pipe rule applies (ZMQ_SNDHWM). 0 = unbounded. Default 1000. */
  sendHighWaterMark?: number;
  /** Messages queued per peer on receipt before reading from it pauses (ZMQ_RCVHWM). 0 = unbounded. Default 1000. */
  receiveHighWaterMark?: number;
  /** ms to keep flushing queued messages after close(); -1 = until sent, 0 = drop them. Default -1. */
  linger?: number;
  /** ms before reconnecting after a connection fails or drops; -1 disables reconnection. Default 100. */
  reconnectInterval?: number;
  /** Upper bound of the doubling reconnect interval; 0 = do not double. Default 0. */
  reconnectMaxInterval?: number;
  /** ms between ZMTP PINGs; 0 = no heartbeats. Default 0. */
  heartbeatInterval?: number;
  /** ms to wait for traffic after a PING before dropping the connection; -1 = heartbeatInterval. Default -1. */
  heartbeatTimeout?: number;
  /** TTL (ms, rounded to tenths of a second) we ask peers to apply to us; 0 = none. Default 0. */
  heartbeatTimeToLive?: number;
  /** ms for a new connection to complete its handshake; 0 = no limit. Default 30000. */
  handshakeInterval?: number;
  /** Largest frame accepted from a peer in bytes; larger ones drop the connection. -1 = no limit. Default -1. */
  maxMessageSize?: number;
  /** Queue messages only to completed connections (ZMQ_IMMEDIATE). Default false. */
  immediate?: boolean;
  /** ms send() waits for room before failing with EAGAIN; -1 = forever, 0 = fail at once. Default -1. */
  sendTimeout?: number;
  /** ms receive() waits before failing with EAGAIN; -1 = forever. Default -1. */
  receiveTimeout?: number;
  /** Listen on IPv6 as well for `tcp://*` binds. Default false. */
  ipv6?: boolean;
  /** Pending-connection queue length for listeners. Default 100. */
  backlog?: number;
  /**
   * Keep only the newest message in each queue (ZMQ_CONFLATE): for PUB, SUB,
   * PUSH, PULL and DEALER carrying single-frame "latest value" messages.
   * Overrides the high-water marks. Default false.
   */
  conflate?: boolean;
  /**
   * Privateer only (no libzmq option): frames of 16 KiB or more sent over
   * `inproc://` to a socket in another worker thread leave by transfer, not
   * by copy, when the Buffer views the whole of a plain ArrayBuffer (say,
   * from `Buffer.allocUnsafeSlow`, or `Buffer.from(arrayBuffer)`). The
   * sender's Buffer is then detached: its length becomes 0 and its bytes are
   * no longer readable, so never reuse a Buffer after passing it to send()
   * with this option on. The detach happens when the message crosses, which
   * may be after send() resolves (when the peer's window is full, later
   * still); a message that never crosses (dropped, or the connection lost)
   * leaves its Buffer intact. Smaller frames, Buffers from Node's pool,
   * slices of a larger buffer and SharedArrayBuffers are copied as without
   * the option. Same-thread inproc passes messages by reference and tcp/ipc
   * write them to the kernel, so neither is affected; PUB and XPUB, which
   * hand one message to every subscriber, always copy. Default false: every
   * frame is copied once, when the message crosses, and the sender's
   * Buffers stay readable.
   * See docs/api.md, "inproc across threads".
   */
  transferLargeFrames?: boolean;
  /**
   * Application properties announced to every peer in this socket's READY
   * command (libzmq's ZMQ_METADATA, which takes them one `"X-Name:value"`
   * string at a time). Names start with `X-` (any case) and are RFC 37
   * property names: 1-255 of `A-Z a-z 0-9 - _ . +`, distinct ignoring case.
   * Values are strings (sent as UTF-8) or bytes. The encoded record (each
   * property: 1 + name + 4 + value bytes) is at most
   * `MAX_METADATA_SIZE` (65,240) bytes, so that READY with the
   * built-in properties fits the 64 KiB a Privateer peer accepts in a
   * command (ZMTP itself would allow values up to 2^32-1 bytes). Anything
   * else fails with EINVAL when set.
   *
   * Setting replaces the whole record (`{}` or null clears it). Each
   * connection announces the record current when its handshake starts, so
   * set it before bind() and connect(), as libzmq requires; a later change
   * reaches only connections made (or remade) after it, never one already
   * handshaken. Peers read it from `peer.metadata` in the `handshake` event,
   * and a ROUTER through `peerMetadata(routingId)`. Default: none.
   */
  metadata?: Readonly<Record<string, string | Buffer>> | null;
  /**
   * Act as PLAIN server (ZMQ_PLAIN_SERVER): accept PLAIN clients, checking
   * their credentials with the ZAP handler bound on `inproc://zeromq.zap.01`.
   * With no handler bound every client is refused, as in libzmq 4.3.
   * `false` returns the socket to NULL. Default false. See docs/security.md.
   */
  plainServer?: boolean;
  /**
   * PLAIN client user name, at most 255 bytes (ZMQ_PLAIN_USERNAME). Setting
   * it (or `plainPassword`) makes the socket a PLAIN client; `null` returns
   * it to NULL. Default null.
   */
  plainUsername?: string | null;
  /**
   * PLAIN client password, at most 255 bytes (ZMQ_PLAIN_PASSWORD). Travels
   * in clear text: use PLAIN only on a network you trust. Never logged.
   * Default null.
   */
  plainPassword?: string | null;
  /** ZAP domain sent in every ZAP request of this server socket (ZMQ_ZAP_DOMAIN). Default "". */
  zapDomain?: string;
  /**
   * Act as CURVE server (ZMQ_CURVE_SERVER): needs `curveSecretKey`. Clients
   * are authenticated by a ZAP handler on `inproc://zeromq.zap.01` when one
   * is bound; with none bound every client that knows the server's public
   * key is accepted, as in libzmq 4.3. `false` returns the socket to NULL.
   * Default false. See docs/security.md.
   */
  curveServer?: boolean;
  /**
   * This socket's long-term public key (ZMQ_CURVE_PUBLICKEY): 40 characters
   * of Z85 or 32 bytes; read back as Z85. Optional: it is derived from
   * `curveSecretKey` when unset, and must belong to it when set. Setting it
   * selects CURVE without changing the role. Default null.
   */
  curvePublicKey?: string | Buffer | Uint8Array | null;
  /**
   * This socket's long-term secret key (ZMQ_CURVE_SECRETKEY), needed by
   * CURVE servers and clients: 40 characters of Z85 or 32 bytes; read back as
   * Z85. Never logged. Setting it selects CURVE without changing the role.
   * Default null.
   */
  curveSecretKey?: string | Buffer | Uint8Array | null;
  /**
   * The server's long-term public key (ZMQ_CURVE_SERVERKEY), 40 characters of
   * Z85 or 32 bytes. Setting it makes the socket a CURVE client, which also
   * needs `curveSecretKey` (nothing is generated for it). Default null.
   */
  curveServerKey?: string | Buffer | Uint8Array | null;
}

/** Construction-only settings that are not ZeroMQ options. */
export interface SocketSettings {
  /** Parent logger; the socket logs through a child of it. Default: silent. */
  logger?: Logger;
  /** Scheduler for timers (reconnect, heartbeat, handshake, timeouts); tests pass a virtual-time one. */
  scheduler?: SchedulerLike;
}

/** The resolved values, with defaults filled in. */
export interface ResolvedOptions {
  routingId: Buffer;
  sendHighWaterMark: number;
  receiveHighWaterMark: number;
  linger: number;
  reconnectInterval: number;
  reconnectMaxInterval: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  heartbeatTimeToLive: number;
  handshakeInterval: number;
  maxMessageSize: number;
  immediate: boolean;
  sendTimeout: number;
  receiveTimeout: number;
  ipv6: boolean;
  backlog: number;
  conflate: boolean;
  transferLargeFrames: boolean;
  /** The `metadata` option as given (for its getter). */
  metadata: Readonly<Record<string, string | Buffer>>;
  /** The same properties as READY sends them, in the record's order. */
  metadataProperties: readonly (readonly [string, Buffer])[];
  /** Security mechanism, as the last of the PLAIN and CURVE options set decides (as in libzmq). */
  mechanism: "NULL" | "PLAIN" | "CURVE";
  plainServer: boolean;
  plainUsername: Buffer | null;
  plainPassword: Buffer | null;
  zapDomain: string;
  curveServer: boolean;
  curvePublicKey: Buffer | null;
  /** Wrapped so that inspecting the socket or its options never prints it. */
  curveSecretKey: SecretKey | null;
  curveServerKey: Buffer | null;
}

export function defaultOptions(): ResolvedOptions {
  return {
    routingId: Buffer.alloc(0),
    sendHighWaterMark: 1000,
    receiveHighWaterMark: 1000,
    linger: -1,
    reconnectInterval: 100,
    reconnectMaxInterval: 0,
    heartbeatInterval: 0,
    heartbeatTimeout: -1,
    heartbeatTimeToLive: 0,
    handshakeInterval: 30000,
    maxMessageSize: -1,
    immediate: false,
    sendTimeout: -1,
    receiveTimeout: -1,
    ipv6: false,
    backlog: 100,
    conflate: false,
    transferLargeFrames: false,
    metadata: Object.freeze({}),
    metadataProperties: [],
    mechanism: "NULL",
    plainServer: false,
    plainUsername: null,
    plainPassword: null,
    zapDomain: "",
    curveServer: false,
    curvePublicKey: null,
    curveSecretKey: null,
    curveServerKey: null,
  };
}

/** The value each option property accepts when set. */
export type OptionWrites = { [K in keyof SocketOptions]-?: Exclude<SocketOptions[K], undefined> };

/** Options whose property reads back in another form than it is set: ids and keys as text, metadata never null. */
type ReadsDifferently = "routingId" | "metadata" | "curvePublicKey" | "curveSecretKey" | "curveServerKey";

/**
 * The option properties every socket has, typed from {@link SocketOptions}
 * (where each is documented). SocketBase merges this interface; the
 * accessors themselves come from {@link OPTIONS}.
 */
export interface SocketOptionProperties extends Omit<OptionWrites, ReadsDifferently> {
  /** See {@link SocketOptions.routingId}. Reads back as text; `null` when none is set. */
  get routingId(): string | null;
  /** Throws `EINVAL` for more than 255 bytes or a leading zero byte (ZMTP reserves those for ids a ROUTER generates). */
  set routingId(value: string | Buffer | null);
  /** See {@link SocketOptions.metadata}. Reads back as a frozen copy of the record last set. */
  get metadata(): Readonly<Record<string, string | Buffer>>;
  /** Throws `EINVAL` for a name without the `X-` prefix or a record that does not fit a READY command; `null` clears it. */
  set metadata(value: Readonly<Record<string, string | Buffer>> | null);
  /** See {@link SocketOptions.curvePublicKey}. Reads back as Z85 text, or null when unset. */
  get curvePublicKey(): string | null;
  /** Throws `EINVAL` for anything but 40 characters of Z85 or 32 bytes; `null` clears it. */
  set curvePublicKey(value: string | Buffer | Uint8Array | null);
  /** See {@link SocketOptions.curveSecretKey}. Reads back as Z85 text, or null when unset. */
  get curveSecretKey(): string | null;
  /** Throws `EINVAL` (without quoting the value) for anything but 40 characters of Z85 or 32 bytes; `null` clears it. */
  set curveSecretKey(value: string | Buffer | Uint8Array | null);
  /** See {@link SocketOptions.curveServerKey}. Reads back as Z85 text, or null when unset. */
  get curveServerKey(): string | null;
  /** Makes the socket a CURVE client. Throws `EINVAL` for anything but 40 characters of Z85 or 32 bytes; `null` clears it. */
  set curveServerKey(value: string | Buffer | Uint8Array | null);
}

/** What an option change reaches beyond the resolved options: the socket's existing pipes, its waiting sends. */
export interface OptionEffects {
  sendHighWaterMarkChanged(mark: number): void;
  receiveHighWaterMarkChanged(mark: number): void;
}

/** One row of the option table: how the property reads, how a new value is checked in, and what else it reaches. */
interface OptionSpec<K extends keyof SocketOptions> {
  get(options: ResolvedOptions): SocketOptionProperties[K];
  /** Throws PrivateerError EINVAL for a bad value, leaving `options` as they were. */
  set(options: ResolvedOptions, value: OptionWrites[K]): void;
  /** Runs after a successful set. */
  readonly effect?: (effects: OptionEffects, options: ResolvedOptions) => void;
}

type OptionTable = { readonly [K in keyof SocketOptions]-?: OptionSpec<K> };

type KeysOf<V> = { [K in keyof SocketOptions & keyof ResolvedOptions]: ResolvedOptions[K] extends V ? K : never }[keyof SocketOptions &
  keyof ResolvedOptions];

/** An integer option of at least `min`; a typo fails when set rather than at the next connection. */
function integer<K extends KeysOf<number>>(name: K, min: number, effect?: OptionSpec<K>["effect"]): OptionSpec<K> {
  return {
    get: (o) => o[name] as SocketOptionProperties[K],
    set: (o, value) => {
      o[name] = atLeast(name, value as number, min);
    },
    effect,
  };
}

/** A boolean option; coerced, so a truthy value read from configuration works. */
function flag<K extends KeysOf<boolean>>(name: K): OptionSpec<K> {
  return {
    get: (o) => o[name] as SocketOptionProperties[K],
    set: (o, value) => {
      o[name] = Boolean(value);
    },
  };
}

/** The TTL travels as 16 bits of tenths of a second; libzmq refuses what cannot be carried. */
const HEARTBEAT_TTL_MAX = 6553599;

/**
 * Every option every socket accepts, one row each: the socket's properties
 * (and its constructor options, applied through them) are defined from this
 * table, so adding an option means adding its row here and its
 * documentation to {@link SocketOptions}. Type-specific options (ROUTER,
 * XPUB, ...) stay on their socket types.
 */
export const OPTIONS: OptionTable = {
  routingId: {
    get: (o) => (o.routingId.length === 0 ? null : o.routingId.toString()),
    // At most 255 bytes and no leading zero byte (ZMTP reserves those for ids a ROUTER generates); applies to connections made afterwards.
    set: (o, value) => {
      const id = value === null ? Buffer.alloc(0) : Buffer.from(value);
      if (id.length > 255) throw new PrivateerError("EINVAL", "routingId is at most 255 bytes");
      if (id.length > 0 && id[0] === 0) throw new PrivateerError("EINVAL", "routingId must not start with a zero byte");
      o.routingId = id;
    },
  },
  // As libzmq (test_sockopt_hwm): a new mark applies to existing connections too.
  sendHighWaterMark: integer("sendHighWaterMark", 0, (effects, o) => effects.sendHighWaterMarkChanged(o.sendHighWaterMark)),
  receiveHighWaterMark: integer("receiveHighWaterMark", 0, (effects, o) => effects.receiveHighWaterMarkChanged(o.receiveHighWaterMark)),
  linger: integer("linger", -1),
  reconnectInterval: integer("reconnectInterval", -1),
  reconnectMaxInterval: integer("reconnectMaxInterval", 0),
  heartbeatInterval: integer("heartbeatInterval", 0),
  heartbeatTimeout: integer("heartbeatTimeout", -1),
  heartbeatTimeToLive: {
    get: (o) => o.heartbeatTimeToLive,
    set: (o, value) => {
      if (value > HEARTBEAT_TTL_MAX) throw new PrivateerError("EINVAL", `heartbeatTimeToLive is at most ${HEARTBEAT_TTL_MAX} ms`);
      o.heartbeatTimeToLive = atLeast("heartbeatTimeToLive", value, 0);
    },
  },
  handshakeInterval: integer("handshakeInterval", 0),
  maxMessageSize: integer("maxMessageSize", -1),
  immediate: flag("immediate"),
  sendTimeout: integer("sendTimeout", -1),
  receiveTimeout: integer("receiveTimeout", -1),
  ipv6: flag("ipv6"),
  backlog: integer("backlog", 0),
  conflate: flag("conflate"),
  transferLargeFrames: flag("transferLargeFrames"),
  metadata: {
    get: (o) => o.metadata,
    set: (o, value) => {
      // Validated and encoded once here, so a connection's READY costs no more than a copy.
      const properties = applicationProperties(value);
      o.metadataProperties = properties;
      // The getter shows strings as given and bytes as the copy that is sent, so later changes to the caller's Buffer show nowhere.
      const given = Object.values(value ?? {});
      o.metadata = Object.freeze(
        Object.fromEntries(properties.map(([name, bytes], i) => [name, typeof given[i] === "string" ? given[i] : bytes])),
      );
    },
  },
  plainServer: {
    get: (o) => o.mechanism === "PLAIN" && o.plainServer,
    // `true` makes the socket a PLAIN server, `false` returns it to NULL (libzmq's rules).
    set: (o, value) => {
      o.plainServer = Boolean(value);
      o.mechanism = o.plainServer ? "PLAIN" : "NULL";
    },
  },
  plainUsername: {
    get: (o) => o.plainUsername?.toString() ?? null,
    set: (o, value) => {
      o.plainUsername = plainCredential("plainUsername", value);
      becomePlainClient(o, o.plainUsername !== null);
    },
  },
  plainPassword: {
    get: (o) => o.plainPassword?.toString() ?? null,
    set: (o, value) => {
      o.plainPassword = plainCredential("plainPassword", value);
      becomePlainClient(o, o.plainPassword !== null);
    },
  },
  zapDomain: {
    get: (o) => o.zapDomain,
    // At most 255 bytes, libzmq's limit.
    set: (o, value) => {
      const domain = String(value ?? "");
      if (Buffer.byteLength(domain) > 255) throw new PrivateerError("EINVAL", "zapDomain is at most 255 bytes");
      o.zapDomain = domain;
    },
  },
  curveServer: {
    get: (o) => o.mechanism === "CURVE" && o.curveServer,
    // `true` makes the socket a CURVE server, `false` returns it to NULL (libzmq's rules).
    set: (o, value) => {
      o.curveServer = Boolean(value);
      o.mechanism = o.curveServer ? "CURVE" : "NULL";
    },
  },
  curvePublicKey: {
    get: (o) => keyText(o.curvePublicKey),
    set: (o, value) => {
      o.curvePublicKey = curveKeyOption("curvePublicKey", value);
      curveKeyChanged(o, o.curvePublicKey !== null);
    },
  },
  curveSecretKey: {
    get: (o) => keyText(o.curveSecretKey),
    // The error never quotes the value.
    set: (o, value) => {
      const key = curveKeyOption("curveSecretKey", value);
      o.curveSecretKey = key === null ? null : new SecretKey(key);
      curveKeyChanged(o, key !== null);
    },
  },
  curveServerKey: {
    get: (o) => keyText(o.curveServerKey),
    // Makes the socket a CURVE client.
    set: (o, value) => {
      o.curveServerKey = curveKeyOption("curveServerKey", value);
      if (o.curveServerKey !== null) o.curveServer = false;
      curveKeyChanged(o, o.curveServerKey !== null);
    },
  },
};

/**
 * Defines one accessor per row of {@link OPTIONS} on `prototype`.
 * `optionsOf` and `effectsOf` reach a socket's resolved options and effects,
 * which stay out of its public API.
 */
export function defineOptionProperties<T>(
  prototype: T,
  optionsOf: (socket: T) => ResolvedOptions,
  effectsOf: (socket: T) => OptionEffects,
): void {
  for (const name of Object.keys(OPTIONS) as (keyof SocketOptions)[]) {
    const spec: OptionSpec<keyof SocketOptions> = OPTIONS[name];
    const effect = spec.effect;
    Object.defineProperty(prototype, name, {
      get(this: T) {
        return spec.get(optionsOf(this));
      },
      set(this: T, value: OptionWrites[keyof SocketOptions]) {
        const options = optionsOf(this);
        spec.set(options, value);
        effect?.(effectsOf(this), options);
      },
      configurable: true,
    });
  }
}

/** The mechanism each new connection uses, from the options current at its start. */
export function securityConfig(o: ResolvedOptions): SecurityConfig {
  if (o.mechanism === "NULL") return { mechanism: "NULL" };
  if (o.mechanism === "CURVE") {
    return o.curveServer
      ? { mechanism: "CURVE", server: true, zapDomain: o.zapDomain, secretKey: o.curveSecretKey, publicKey: o.curvePublicKey }
      : {
          mechanism: "CURVE",
          server: false,
          serverKey: o.curveServerKey,
          publicKey: o.curvePublicKey,
          secretKey: o.curveSecretKey,
        };
  }
  if (o.plainServer) return { mechanism: "PLAIN", server: true, zapDomain: o.zapDomain };
  return {
    mechanism: "PLAIN",
    server: false,
    username: o.plainUsername ?? Buffer.alloc(0),
    password: o.plainPassword ?? Buffer.alloc(0),
  };
}

function atLeast(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new PrivateerError("EINVAL", `${name} must be an integer >= ${min}`);
  return value;
}

/** A PLAIN credential option: `null` clears it; the value itself never goes into the error. */
function plainCredential(name: string, value: string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  const bytes = Buffer.from(String(value), "utf8");
  if (bytes.length > PLAIN_CREDENTIAL_MAX) throw new PrivateerError("EINVAL", `${name} is at most ${PLAIN_CREDENTIAL_MAX} bytes`);
  return bytes;
}

/** Setting a PLAIN credential makes a PLAIN client; clearing one returns to NULL. */
function becomePlainClient(o: ResolvedOptions, set: boolean): void {
  o.plainServer = false;
  o.mechanism = set ? "PLAIN" : "NULL";
}

/**
 * libzmq: setting any CURVE key selects CURVE and keeps the role. Clearing
 * one (a Privateer extension; libzmq cannot unset a key) returns to NULL
 * once no CURVE setting is left.
 */
function curveKeyChanged(o: ResolvedOptions, set: boolean): void {
  if (set) o.mechanism = "CURVE";
  else if (o.mechanism === "CURVE" && !o.curveServer && !o.curvePublicKey && !o.curveSecretKey && !o.curveServerKey) o.mechanism = "NULL";
}

/**
 * Room READY needs besides the application's properties, at most: the command
 * name (1 + 5), Socket-Type (1 + 11 + 4 + up to 6) and Identity (1 + 8 + 4 + up to 255).
 */
const READY_BUILT_INS_MAX = 6 + 22 + 268;

/**
 * Largest encoded `metadata` record: a READY carrying it and the built-ins
 * stays within the command size a Privateer peer accepts (COMMAND_SIZE_MAX).
 */
export const MAX_METADATA_SIZE = COMMAND_SIZE_MAX - READY_BUILT_INS_MAX;

/** Properties every READY carries, set by the socket itself: not available to applications. */
const BUILT_IN_PROPERTIES = new Set(["socket-type", "identity", "resource", "user-id"]);

/**
 * Checks a `metadata` option value by libzmq's ZMQ_METADATA rules and
 * returns it as READY properties. Throws PrivateerError EINVAL on anything
 * a peer could not receive or that would shadow a built-in property.
 */
export function applicationProperties(
  value: Readonly<Record<string, string | Buffer>> | null | undefined,
): readonly (readonly [string, Buffer])[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== "object" || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new PrivateerError("EINVAL", "metadata must be a record of property names to values");
  }
  const properties: (readonly [string, Buffer])[] = [];
  const seen = new Map<string, string>();
  let size = 0;
  for (const [name, raw] of Object.entries(value)) {
    if (!isPropertyName(name)) {
      throw new PrivateerError(
        "EINVAL",
        `metadata property name "${name}" is not a ZMTP property name (1-255 of A-Z a-z 0-9 - _ . +)`,
      );
    }
    const lower = name.toLowerCase();
    if (BUILT_IN_PROPERTIES.has(lower)) {
      throw new PrivateerError("EINVAL", `metadata property "${name}" is set by the socket itself; application properties start with X-`);
    }
    if (!lower.startsWith("x-")) {
      throw new PrivateerError("EINVAL", `metadata property "${name}" must start with X- (application properties only)`);
    }
    const clash = seen.get(lower);
    if (clash !== undefined) {
      throw new PrivateerError("EINVAL", `metadata properties "${clash}" and "${name}" differ only in case; names are case-insensitive`);
    }
    seen.set(lower, name);
    let bytes: Buffer;
    if (typeof raw === "string") bytes = Buffer.from(raw, "utf8");
    else if (raw instanceof Uint8Array) bytes = Buffer.from(raw);
    else throw new PrivateerError("EINVAL", `metadata property "${name}" must be a string or a Buffer`);
    size += 1 + name.length + 4 + bytes.length;
    properties.push([name, bytes]);
  }
  if (size > MAX_METADATA_SIZE) {
    // ZMTP could carry it, but a Privateer peer refuses a READY this large: the handshake would fail.
    throw new PrivateerError(
      "EINVAL",
      `metadata encodes to ${size} bytes; at most ${MAX_METADATA_SIZE} fit in a READY a Privateer peer accepts`,
    );
  }
  return properties;
}
