/**
 * `publish`: send typed events to `POST /api/events` from a server (Node ≥ 18,
 * Deno, Bun, workers: anything with `fetch`).
 *
 * @example
 * ```ts
 * import { publish, PublishError } from "@continuum/client";
 * import type { ContinuumEventMap } from "./continuum-events";
 *
 * try {
 *   const { id } = await publish<ContinuumEventMap>(
 *     "http://127.0.0.1:3000/api/events",
 *     { type: "ai.task.progress", data: { taskId: "gen-123", stage: "prompting", progress: 10 } },
 *     { token: process.env.CONTINUUM_EVENT_INGEST_TOKEN, idempotencyKey: "gen-123:prompting" },
 *   );
 * } catch (error) {
 *   if (error instanceof PublishError) console.error(error.status, error.code, error.issues);
 * }
 * ```
 *
 * @module
 */

import type { Envelope, EventMapLike, Issue, PublishErrorCode } from "./types.js";

/** Options of {@link publish}. */
export interface PublishOptions {
  /** The ingest token, sent as `x-continuum-event-key` (`CONTINUUM_EVENT_INGEST_TOKEN` on the server). */
  token?: string | undefined;
  /** Sent as `Idempotency-Key`: a retry with the same key publishes once and gets the same ids. */
  idempotencyKey?: string | undefined;
  /** Abort the request. */
  signal?: AbortSignal | undefined;
  /** The `fetch` to use. Default: `globalThis.fetch`. */
  fetch?: typeof fetch | undefined;
}

/** What the server answered with `202 Accepted`. */
export interface Published {
  /** The id of the (first) event. */
  readonly id: string;
  /** Every id, in the order of the envelopes. */
  readonly ids: readonly string[];
  /** Whether this was a retry of an idempotency key already published (nothing new was published). */
  readonly replayed: boolean;
}

/**
 * The server refused the events; nothing was published. `code` and `issues`
 * are the server's (`issues` lists every validation issue, paths in wire
 * names such as `data.progress`).
 */
export class PublishError extends Error {
  /** The HTTP status, e.g. `422`. */
  readonly status: number;
  /** The server's error code, e.g. `"invalid_event"`. */
  readonly code: PublishErrorCode;
  /** Every validation issue (empty unless `code` is `invalid_event`). */
  readonly issues: readonly Issue[];
  /** The whole JSON body. */
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const b = (typeof body === "object" && body !== null ? body : {}) as {
      error?: PublishErrorCode;
      message?: string;
      issues?: Issue[];
    };
    super(`continuum publish failed (${status} ${b.error ?? "unknown"}): ${b.message ?? ""}`.trim());
    this.name = "PublishError";
    this.status = status;
    this.code = b.error ?? "publish_failed";
    this.issues = b.issues ?? [];
    this.body = body;
  }
}

/**
 * Publish one event, or several all-or-nothing, to a Continuum ingest
 * endpoint. Resolves once the server has published them to subscribers.
 *
 * @throws {@link PublishError} when the server refuses (every status but 202);
 * `fetch`'s own error when the server cannot be reached.
 */
export async function publish<M extends EventMapLike>(
  url: string,
  events: Envelope<M> | readonly Envelope<M>[],
  options: PublishOptions = {},
): Promise<Published> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token !== undefined) headers["x-continuum-event-key"] = options.token;
  if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
  const doFetch = options.fetch ?? globalThis.fetch;
  const init: RequestInit = { method: "POST", headers, body: JSON.stringify(events) };
  if (options.signal) init.signal = options.signal;
  const res = await doFetch(url, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (res.status !== 202) throw new PublishError(res.status, body);
  const b = body as { id?: string; ids?: string[] };
  const ids = b.ids ?? (b.id !== undefined ? [b.id] : []);
  return {
    id: ids[0] ?? "",
    ids,
    replayed: res.headers.get("idempotent-replayed") === "true",
  };
}
