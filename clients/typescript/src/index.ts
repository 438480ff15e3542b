/**
 * `@continuum/client`: typed subscribe and publish for Continuum's
 * Server-Sent Events, in lockstep with the Rust declarations.
 *
 * Generate the event map from the Rust binary
 * (`continuum_runtime::typescript::module(hub.registry())`, or
 * `cargo run --example ai_progress -- --typescript` for the demo), then:
 *
 * ```ts
 * import { subscribe, publish } from "@continuum/client";
 * import type { ContinuumEventMap } from "./continuum-events";
 *
 * const sub = subscribe<ContinuumEventMap>({ url: "/api/events", types: ["ai.task.*"] });
 * sub.on("ai.task.progress", ({ data }) => console.log(data.taskId, data.progress));
 * ```
 *
 * The React hook is in `@continuum/client/react`.
 *
 * @module
 */

export * from "./types.js";
export {
  subscribe,
  withQuery,
  CONNECTED_EVENT,
  RESET_EVENT,
  SNAPSHOT_EVENT,
  type EventSourceConstructor,
  type EventSourceLike,
  type SseMessage,
  type SubscribeOptions,
  type Subscription,
  type Unsubscribe,
} from "./subscribe.js";
export {
  subscribeState,
  type StateKey,
  type StateOptions,
  type StateSubscription,
} from "./state.js";
export { publish, PublishError, type PublishOptions, type Published } from "./publish.js";
