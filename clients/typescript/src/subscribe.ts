/**
 * `subscribe`: a typed, self-healing view of `GET /api/events`.
 *
 * @example
 * ```ts
 * import { subscribe } from "@continuum/client";
 * import type { ContinuumEventMap } from "./continuum-events";
 *
 * const sub = subscribe<ContinuumEventMap>({ url: "/api/events", types: ["ai.task.*"] });
 * sub.on("ai.task.progress", ({ data }) => render(data.taskId, data.stage, data.progress));
 * sub.onReset(() => refetchState());      // the server cannot vouch for a gap: start over
 * sub.onStatus((status) => showBadge(status));
 * // later: sub.close();
 * ```
 *
 * Readers are tolerant, so a newer server never breaks an older bundle:
 * unknown fields in a payload are passed through untouched, control events
 * (`continuum.*`) this version does not know are ignored, a reset with a
 * reason it does not know is a reset (`"other"`), and an event it cannot
 * read is skipped and counted ({@link Subscription.skipped}), never thrown.
 * Events of a type nobody listens to are never even dispatched by
 * `EventSource`. Given the generated `continuumContract`, the client sends
 * its contract, and a server on another contract answers with a `contract`
 * reset ({@link Subscription.onContractReset}) rather than shapes this
 * bundle cannot read.
 *
 * @module
 */

import {
  RESET_REASONS,
  type Connected,
  type ContinuumMessage,
  type ContractLike,
  type EventMapLike,
  type EventName,
  type ResetDetail,
  type ResetReason,
  type SnapshotInfo,
  type Status,
  type TypePattern,
} from "./types.js";

/** The SSE event name of the first message on every connection. */
export const CONNECTED_EVENT = "continuum.connected";
/** The SSE event name of a reset: refetch state, the server cannot prove nothing was missed. */
export const RESET_EVENT = "continuum.reset";
/** The SSE event name that ends the snapshot a `snapshot: true` subscription asked for. */
export const SNAPSHOT_EVENT = "continuum.snapshot";

/** The part of a `MessageEvent` the client reads. */
export interface SseMessage {
  readonly data: string;
  readonly lastEventId: string;
}

/** The part of `EventSource` the client uses: the browser's, or a Node implementation. */
export interface EventSourceLike {
  readonly readyState: number;
  close(): void;
  addEventListener(type: string, listener: (event: SseMessage) => void): void;
}

/** A constructor like the browser's `EventSource`. */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike;

/** Options of {@link subscribe}. */
export interface SubscribeOptions<M extends EventMapLike> {
  /** The events endpoint, e.g. `"/api/events"` or `"https://api.example.com/api/events"`. */
  url: string;
  /** Only these events: names of `M`, prefix wildcards (`"ai.task.*"`), or `"*"`. Default: every event. */
  types?: readonly TypePattern<M>[];
  /** Send cookies, also cross-origin (the server must allow the origin). Default `true`. */
  withCredentials?: boolean;
  /** Resume after this id (e.g. one kept from a previous page view). */
  lastEventId?: string;
  /** The `EventSource` to use. Default: `globalThis.EventSource` (browsers, Node ≥ 22 with the flag, Deno). */
  EventSource?: EventSourceConstructor;
  /**
   * How long to wait before opening a new connection when the browser gave
   * up on one (an HTTP error, e.g. a 503 during a deploy): starts at
   * `minDelayMs` (1 s) and doubles up to `maxDelayMs` (30 s). A dropped
   * stream is retried by `EventSource` itself, at the server's `retry:` hint.
   */
  retry?: { minDelayMs?: number; maxDelayMs?: number };
  /**
   * The contract this client was built with: `continuumContract` from the
   * generated module. Sent as `contract=<fingerprint>` and `versions=` (the
   * types this client reads at version 2 or later); a server whose contract
   * differs for a subscribed type sends a `contract` reset instead of events
   * this client cannot read ({@link Subscription.onContractReset}).
   */
  contract?: ContractLike;
  /**
   * Ask for the latest event of every key of the keyed types subscribed to
   * (`snapshot=true`): after `continuum.connected` (and after a reset), the
   * server sends them as ordinary events, then `continuum.snapshot`
   * ({@link Subscription.onSnapshot}), then live events. Default `false`.
   */
  snapshot?: boolean;
}

/** Call it to remove the handler it was returned for. */
export type Unsubscribe = () => void;

/** A live subscription; see {@link subscribe}. */
export interface Subscription<M extends EventMapLike> {
  /** Call `handler` with every `type` event. */
  on<K extends EventName<M>>(type: K, handler: (event: ContinuumMessage<M, K>) => void): Unsubscribe;
  /**
   * Call `handler` on `continuum.reset`: refetch state, the server cannot
   * prove nothing was missed. A reason this client does not know is `"other"`
   * (its wire name in `detail.wireReason`).
   */
  onReset(handler: (reason: ResetReason, detail: ResetDetail) => void): Unsubscribe;
  /**
   * Call `handler` on a `contract` reset: the server runs another contract
   * than this bundle was built with, and will not send the listed types'
   * events on this connection. Reload the bundle, e.g. `window.location.reload()`.
   * (`onReset` handlers are called too, with `"contract"`.)
   */
  onContractReset(handler: (types: readonly string[]) => void): Unsubscribe;
  /** Call `handler` on `continuum.snapshot`: every snapshot event (asked with `snapshot: true`) has arrived. */
  onSnapshot(handler: (snapshot: SnapshotInfo) => void): Unsubscribe;
  /** Call `handler` whenever {@link Subscription.status} changes. */
  onStatus(handler: (status: Status) => void): Unsubscribe;
  /** Call `handler` with `continuum.connected`, the first message of every connection. */
  onConnected(handler: (connected: Connected) => void): Unsubscribe;
  /** Call `handler` whenever {@link Subscription.lastEventId} changes. */
  onLastEventId(handler: (id: string) => void): Unsubscribe;
  /** Where the connection is now. */
  readonly status: Status;
  /** The id of the last message received: a reconnect resumes after it. */
  readonly lastEventId: string | undefined;
  /**
   * How many messages were received but not delivered because this client
   * cannot read them (not JSON, not an envelope, or another event's type):
   * skipped, never thrown.
   */
  readonly skipped: number;
  /** Close the connection for good; status becomes `closed`. */
  close(): void;
}

const CLOSED = 2;

/**
 * Subscribe to a Continuum events endpoint, typed by the event map `M`.
 *
 * The connection opens at once (status `connecting`, then `open`). When it
 * drops, it reconnects with the id of the last message, so the server
 * replays what was missed — or, when it cannot prove nothing was missed
 * (a restart, a client that fell behind), sends a reset, reported to
 * {@link Subscription.onReset} handlers.
 *
 * @throws TypeError when there is no `EventSource` (pass one in Node).
 */
export function subscribe<M extends EventMapLike>(options: SubscribeOptions<M>): Subscription<M> {
  return new Live<M>(options);
}

type Handler = (...args: never[]) => void;

class Live<M extends EventMapLike> implements Subscription<M> {
  #status: Status = "connecting";
  #lastEventId: string | undefined;
  #source: EventSourceLike | undefined;
  /** Event types listened to on the current source. */
  #attached = new Set<string>();
  #handlers = new Map<string, Set<Handler>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #skipped = 0;
  readonly #url: string;
  readonly #withCredentials: boolean;
  readonly #EventSource: EventSourceConstructor;
  readonly #minDelay: number;
  readonly #maxDelay: number;

  constructor(options: SubscribeOptions<M>) {
    const ctor =
      options.EventSource ??
      (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (ctor === undefined) {
      throw new TypeError(
        "@continuum/client: no EventSource here; pass one, e.g. subscribe({ url, EventSource }) with `import { EventSource } from \"eventsource\"` in Node",
      );
    }
    this.#EventSource = ctor;
    let url = withQuery(options.url, "types", options.types?.length ? options.types.join(",") : undefined);
    if (options.contract) {
      url = withQuery(url, "contract", options.contract.fingerprint);
      url = withQuery(url, "versions", versionsParam(options.contract));
    }
    if (options.snapshot) url = withQuery(url, "snapshot", "true");
    this.#url = url;
    this.#withCredentials = options.withCredentials ?? true;
    this.#lastEventId = options.lastEventId;
    this.#minDelay = options.retry?.minDelayMs ?? 1000;
    this.#maxDelay = options.retry?.maxDelayMs ?? 30_000;
    this.#open();
  }

  get status(): Status {
    return this.#status;
  }

  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  get skipped(): number {
    return this.#skipped;
  }

  on<K extends EventName<M>>(type: K, handler: (event: ContinuumMessage<M, K>) => void): Unsubscribe {
    const off = this.#add(type, handler);
    if (this.#source && !this.#attached.has(type)) this.#listen(this.#source, type);
    return off;
  }

  onReset(handler: (reason: ResetReason, detail: ResetDetail) => void): Unsubscribe {
    return this.#add(RESET_EVENT, handler);
  }

  onContractReset(handler: (types: readonly string[]) => void): Unsubscribe {
    return this.#add(" contract", handler);
  }

  onSnapshot(handler: (snapshot: SnapshotInfo) => void): Unsubscribe {
    return this.#add(SNAPSHOT_EVENT, handler);
  }

  onStatus(handler: (status: Status) => void): Unsubscribe {
    return this.#add(" status", handler);
  }

  onConnected(handler: (connected: Connected) => void): Unsubscribe {
    return this.#add(CONNECTED_EVENT, handler);
  }

  onLastEventId(handler: (id: string) => void): Unsubscribe {
    return this.#add(" id", handler);
  }

  close(): void {
    if (this.#status === "closed") return;
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = undefined;
    this.#setStatus("closed");
    this.#handlers.clear();
  }

  #add(key: string, handler: Handler): Unsubscribe {
    let set = this.#handlers.get(key);
    if (!set) this.#handlers.set(key, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  #emit(key: string, ...args: unknown[]): void {
    const set = this.#handlers.get(key);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        (handler as (...args: unknown[]) => void)(...args);
      } catch (error) {
        // One failing handler must not starve the others or kill the stream.
        report(error);
      }
    }
  }

  #open(): void {
    // A new EventSource cannot be given a `Last-Event-ID` header; the server
    // reads `?lastEventId=` instead (the header wins when the browser sends one).
    const url = withQuery(this.#url, "lastEventId", this.#lastEventId);
    const source = new this.#EventSource(url, { withCredentials: this.#withCredentials });
    this.#source = source;
    this.#attached = new Set();
    source.addEventListener("open", () => {
      if (this.#source !== source) return;
      this.#failures = 0;
      this.#setStatus("open");
    });
    source.addEventListener("error", () => {
      if (this.#source !== source) return;
      this.#setStatus("reconnecting");
      if (source.readyState === CLOSED) {
        // The browser gave up (an HTTP error or a wrong content type): try
        // again ourselves, later, resuming from the last id.
        source.close();
        const delay = Math.min(this.#maxDelay, this.#minDelay * 2 ** this.#failures);
        this.#failures += 1;
        this.#timer = setTimeout(() => {
          if (this.#source === source) this.#open();
        }, delay * (0.75 + Math.random() * 0.5));
      }
    });
    source.addEventListener(CONNECTED_EVENT, (e) => {
      if (this.#source !== source) return;
      this.#noteId(e.lastEventId);
      const connected = parse(e.data) as Connected | undefined;
      if (connected) this.#emit(CONNECTED_EVENT, connected);
    });
    source.addEventListener(RESET_EVENT, (e) => {
      if (this.#source !== source) return;
      this.#noteId(e.lastEventId);
      // Whatever the body says, a reset is a reset: never an error.
      const body = object(parse(e.data));
      const wireReason = typeof body.reason === "string" ? body.reason : "other";
      const known = (RESET_REASONS as readonly string[]).includes(wireReason) && wireReason !== "other";
      const reason = (known ? wireReason : "other") as ResetReason;
      const types = Array.isArray(body.types) ? body.types.filter((t): t is string => typeof t === "string") : [];
      const detail: ResetDetail = { wireReason, types };
      this.#emit(RESET_EVENT, reason, detail);
      if (reason === "contract") this.#emit(" contract", types);
    });
    source.addEventListener(SNAPSHOT_EVENT, (e) => {
      if (this.#source !== source) return;
      const body = object(parse(e.data));
      const count = typeof body.count === "number" ? body.count : 0;
      const types = Array.isArray(body.types) ? body.types.filter((t): t is string => typeof t === "string") : [];
      this.#emit(SNAPSHOT_EVENT, { count, types } satisfies SnapshotInfo);
    });
    for (const type of this.#handlers.keys()) {
      if (!type.startsWith(" ") && !CONTROL.has(type)) {
        this.#listen(source, type);
      }
    }
  }

  #listen(source: EventSourceLike, type: string): void {
    this.#attached.add(type);
    source.addEventListener(type, (e) => {
      if (this.#source !== source) return;
      this.#noteId(e.lastEventId);
      const envelope = parse(e.data);
      // Tolerant: extra envelope members and payload fields pass through; a
      // message that is not this type's envelope is skipped and counted.
      if (
        typeof envelope !== "object" ||
        envelope === null ||
        ((envelope as { type?: unknown }).type !== undefined && (envelope as { type?: unknown }).type !== type)
      ) {
        this.#skipped += 1;
        return;
      }
      this.#emit(type, { id: e.lastEventId, type, data: (envelope as { data?: unknown }).data ?? null });
    });
  }

  #noteId(id: string): void {
    if (!id || id === this.#lastEventId) return;
    this.#lastEventId = id;
    this.#emit(" id", id);
  }

  #setStatus(status: Status): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#emit(" status", status);
  }
}

/** The control events this client reads; any other `continuum.*` is ignored. */
const CONTROL = new Set([CONNECTED_EVENT, RESET_EVENT, SNAPSHOT_EVENT]);

/** `value` if it is a JSON object, else an empty one. */
function object(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** `versions=`: only the types read at version 2 or later (an unlisted type is version 1). */
function versionsParam(contract: ContractLike): string | undefined {
  const listed = Object.entries(contract.versions)
    .filter(([, v]) => v >= 2)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([t, v]) => `${t}@${v}`);
  return listed.length ? listed.join(",") : undefined;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    report(new Error(`@continuum/client: a message that is not JSON: ${String(error)}`));
    return undefined;
  }
}

/**
 * Report without throwing into the event source: `reportError` in browsers
 * (the console and `window.onerror`, as for any listener), the console elsewhere.
 */
function report(error: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === "function") g.reportError(error);
  else console.error(error);
}

/** `url` with `key=value` added to its query (nothing when `value` is undefined). */
export function withQuery(url: string, key: string, value: string | undefined): string {
  if (value === undefined || value === "") return url;
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const sep = base.includes("?") ? "&" : "?";
  // `*`, `.`, `@` and `,` stay readable: the server splits lists on commas.
  const encoded = value
    .split(",")
    .map((v) => encodeURIComponent(v).replace(/%40/g, "@"))
    .join(",");
  return `${base}${sep}${key}=${encoded}`;
}
