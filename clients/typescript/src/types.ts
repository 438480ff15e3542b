/**
 * The types shared by `subscribe`, `publish` and the React hook. Every one is
 * parameterised by an event map `M` — the `ContinuumEventMap` that
 * `continuum_runtime::typescript::module` generates from the Rust
 * declarations — so a renamed field or a new stage in Rust is a compile
 * error here.
 *
 * @module
 */

/** An event map: event name → payload (`null` for an event without data). */
export type EventMapLike = object;

/** The event names of `M`. */
export type EventName<M extends EventMapLike> = keyof M & string;

/**
 * Every prefix wildcard of a dotted name: `"ai.task.progress"` gives
 * `"ai.*" | "ai.task.*"`.
 */
export type Prefixes<S extends string> = S extends `${infer Head}.${infer Rest}`
  ? `${Head}.*` | `${Head}.${Prefixes<Rest>}`
  : never;

/**
 * One item of `?types=`: an event name of `M`, a prefix wildcard that matches
 * one (`"ai.task.*"`), or `"*"` for every event.
 */
export type TypePattern<M extends EventMapLike> = EventName<M> | Prefixes<EventName<M>> | "*";

/** One event as a handler receives it. */
export interface ContinuumMessage<M extends EventMapLike, K extends EventName<M> = EventName<M>> {
  /** The id to resume from (`Last-Event-ID`): opaque, carries the server's epoch. */
  readonly id: string;
  /** The event's name, e.g. `"ai.task.progress"`. */
  readonly type: K;
  /** The payload, exactly as validated by the server. */
  readonly data: M[K];
}

/**
 * Why the server sent `continuum.reset`: it cannot prove this client missed
 * nothing (or this client cannot read what it would send), so the client
 * should rebuild its state.
 *
 * - `evicted`: the last id left the server's replay buffer.
 * - `foreign_epoch`: the last id is from before a restart, or another deployment.
 * - `unknown_id`: the last id is not one the server issued.
 * - `lagged`: this subscriber fell behind and was cut off; it reconnects by itself.
 * - `stream_lost`: the shared event stream (e.g. Redis) was lost and a new epoch began.
 * - `expired`: this subscriber's grant expired; it reconnects by itself and is
 *   authorized afresh (a revoked session is then refused).
 * - `contract`: the server's contract differs from the one this client was
 *   built with (a new deploy): the server will not send it the events whose
 *   version it cannot read. Reload the app's bundle (see
 *   `Subscription.onContractReset`).
 * - `other`: a reason this version of the client does not know (a newer
 *   server): still a reset; the wire name is in {@link ResetDetail.wireReason}.
 */
export type ResetReason =
  | "evicted"
  | "foreign_epoch"
  | "unknown_id"
  | "lagged"
  | "stream_lost"
  | "expired"
  | "contract"
  | "other";

/** Every reset reason, for exhaustive checks at run time. */
export const RESET_REASONS: readonly ResetReason[] = [
  "evicted",
  "foreign_epoch",
  "unknown_id",
  "lagged",
  "stream_lost",
  "expired",
  "contract",
  "other",
];

/** What a reset said besides its reason (the second argument of `onReset` handlers). */
export interface ResetDetail {
  /** The reason exactly as the server sent it (differs from the reason only for `other`). */
  readonly wireReason: string;
  /** For a `contract` reset: the event types whose version this client cannot read. */
  readonly types: readonly string[];
}

/**
 * The contract a client was built with: `continuumContract` from the
 * generated module (`continuum_runtime::typescript::module`). Its
 * fingerprint and versions are sent when subscribing, so a server on
 * another contract says `continuum.reset` (`contract`) instead of sending
 * shapes this client cannot read.
 */
export interface ContractLike {
  /** `Contract::fingerprint()` of the Rust declarations: 16 hex digits. */
  readonly fingerprint: string;
  /** Every event type and the version this client reads. */
  readonly versions: { readonly [type: string]: number };
}

/**
 * The key field of each keyed event (`continuumKeys` from the generated
 * module): event name → the wire name of the field that identifies the
 * thing the event is about, e.g. `{ "ai.task.progress": "taskId" }`.
 */
export type KeyMapLike<M extends EventMapLike = EventMapLike> = {
  readonly [K in EventName<M>]?: keyof M[K] & string;
};

/** The body of `continuum.snapshot`: the end of the snapshot a `snapshot: true` subscription asked for. */
export interface SnapshotInfo {
  /** How many events the snapshot held. */
  readonly count: number;
  /** The keyed event types it covered, sorted. */
  readonly types: readonly string[];
}

/**
 * Where a subscription's connection is:
 * `connecting` (first attempt), `open` (the stream is flowing),
 * `reconnecting` (lost; retrying, with the last id), `closed` (after `close()`).
 */
export type Status = "connecting" | "open" | "reconnecting" | "closed";

/** The body of `continuum.connected`, the first message of every connection. */
export interface Connected {
  /** The server's id for this connection. */
  readonly connectionId: string;
  /** The server's epoch: changes when the server (or its shared stream) starts over. */
  readonly epoch: string;
}

/** What `POST /api/events` accepts for one event of `M`. */
export type Envelope<M extends EventMapLike> = {
  [K in EventName<M>]: {
    /** The event's name. */
    type: K;
    /** The payload, validated by the server. */
    data: M[K];
    /** Only subscribers granted this channel receive the event (like `emit_to`). */
    channel?: string;
  };
}[EventName<M>];

/** The code of one validation issue, as the server reports it. */
export type IssueCode =
  | "range"
  | "length"
  | "pattern"
  | "custom"
  | "type"
  | "required"
  | "unknown_field";

/** One validation issue: `path` in wire names, e.g. `data.progress` or `[2].data.progress`. */
export interface Issue {
  readonly path: string;
  readonly code: IssueCode;
  readonly message: string;
}

/** The `error` code of a refused `POST`. */
export type PublishErrorCode =
  | "malformed_json"
  | "invalid_idempotency_key"
  | "unauthorized"
  | "method_not_allowed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "unknown_type"
  | "reserved_type"
  | "invalid_event"
  | "publish_failed"
  | "body_read_failed"
  | "not_found";
