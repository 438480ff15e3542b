/**
 * `subscribeState`: the live state of a keyed event — the latest data per
 * key — built from the stream alone, with no application endpoint to
 * refetch. The React hook `useContinuumState` is this, shared by the
 * components that ask for the same state.
 *
 * @example
 * ```ts
 * import { subscribeState } from "@continuum/client";
 * import { continuumKeys, type ContinuumEventMap } from "./continuum-events";
 *
 * const tasks = subscribeState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", {
 *   url: "/api/events",
 *   keys: continuumKeys,
 * });
 * tasks.onChange((state) => console.log([...state.values()].map((t) => `${t.taskId} ${t.progress}%`)));
 * ```
 *
 * How it stays right: it subscribes with `snapshot=true`, so the server first
 * sends the latest event of every live key, then `continuum.snapshot`, then
 * live events (and, for a subscriber that fell behind, the latest event per
 * key it missed). Every event is applied by its key. On `continuum.reset`
 * the state is rebuilt from the snapshot that follows the reset: the events
 * of that snapshot are gathered aside and replace the state in one step when
 * `continuum.snapshot` arrives, so a page never shows a half-built state.
 *
 * @module
 */

import { subscribe, type SubscribeOptions, type Subscription, type Unsubscribe } from "./subscribe.js";
import type { EventMapLike, EventName, KeyMapLike } from "./types.js";

/**
 * The type of a keyed event's key: the data's field types that can be a key
 * (a string, a number, a string union).
 */
export type StateKey<M extends EventMapLike, K extends EventName<M>> = Extract<M[K][keyof M[K]], string | number>;

/**
 * Options of {@link subscribeState}: those of `subscribe`, without `types`
 * and `snapshot` (set for you) and `lastEventId` (a state starts from a snapshot).
 */
export interface StateOptions<M extends EventMapLike>
  extends Omit<SubscribeOptions<M>, "types" | "snapshot" | "lastEventId"> {
  /** The key field of every keyed event: `continuumKeys` from the generated module. */
  keys: KeyMapLike<M>;
}

/** A live keyed state; see {@link subscribeState}. */
export interface StateSubscription<M extends EventMapLike, K extends EventName<M>> {
  /**
   * The latest data per key. A new `Map` object after every change (and the
   * same one between changes), so it can be compared by identity.
   */
  readonly state: ReadonlyMap<StateKey<M, K>, M[K]>;
  /** Whether the first snapshot has arrived: before it, `state` is empty because nothing is known yet. */
  readonly ready: boolean;
  /** Call `handler` with the new state after every change. */
  onChange(handler: (state: ReadonlyMap<StateKey<M, K>, M[K]>) => void): Unsubscribe;
  /** The underlying subscription: its status, resets (`onContractReset`), `skipped`. */
  readonly subscription: Subscription<M>;
  /** Close the connection for good. */
  close(): void;
}

/**
 * The live state of the keyed event `type`: a map from each key to the
 * latest data, kept current from `GET /api/events?types=<type>&snapshot=true`.
 *
 * @throws TypeError when `type` has no key in `options.keys` (declare it
 * with `key = …` in Rust and regenerate the module), or there is no `EventSource`.
 */
export function subscribeState<M extends EventMapLike, K extends EventName<M>>(
  type: K,
  options: StateOptions<M>,
): StateSubscription<M, K> {
  return new LiveState<M, K>(type, options);
}

class LiveState<M extends EventMapLike, K extends EventName<M>> implements StateSubscription<M, K> {
  readonly subscription: Subscription<M>;
  #state = new Map<StateKey<M, K>, M[K]>();
  /** While rebuilding (before the first snapshot, after a reset): the snapshot's events so far. */
  #staging: Map<StateKey<M, K>, M[K]> | undefined = new Map();
  #handlers = new Set<(state: ReadonlyMap<StateKey<M, K>, M[K]>) => void>();
  #ready = false;

  constructor(type: K, options: StateOptions<M>) {
    const field = options.keys[type] as string | undefined;
    if (typeof field !== "string") {
      throw new TypeError(
        `@continuum/client: "${type}" is not a keyed event in the keys given; declare it with \`key = …\` in Rust and regenerate the module`,
      );
    }
    const { keys: _keys, ...rest } = options;
    const init: SubscribeOptions<M> = { ...rest, types: [type], snapshot: true };
    const sub = subscribe<M>(init);
    this.subscription = sub;
    sub.on(type, ({ data }) => {
      const key = (data as Record<string, unknown> | null)?.[field];
      if (typeof key !== "string" && typeof key !== "number") return; // not readable as keyed: ignore
      if (this.#staging) {
        this.#staging.set(key as StateKey<M, K>, data);
        return;
      }
      const next = new Map(this.#state);
      next.set(key as StateKey<M, K>, data);
      this.#set(next);
    });
    sub.onReset(() => {
      // Rebuild from the snapshot that follows; keep showing the old state until it is whole.
      this.#staging = new Map();
    });
    let connections = 0;
    sub.onConnected(() => {
      // A reconnection while the first snapshot was still arriving: the
      // server replays from the last id (the rest of the snapshot, then
      // live events, and no `continuum.snapshot`) or resets (and a snapshot
      // follows). Either way what has arrived is the state so far.
      if (connections++ > 0 && this.#staging) {
        const staged = this.#staging;
        this.#staging = undefined;
        this.#set(staged);
      }
    });
    sub.onSnapshot(() => {
      const staged = this.#staging;
      if (!staged) return; // a snapshot not after a reset (none is sent then): nothing to swap
      this.#staging = undefined;
      this.#set(staged);
    });
  }

  get state(): ReadonlyMap<StateKey<M, K>, M[K]> {
    return this.#state;
  }

  get ready(): boolean {
    return this.#ready;
  }

  onChange(handler: (state: ReadonlyMap<StateKey<M, K>, M[K]>) => void): Unsubscribe {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  close(): void {
    this.subscription.close();
    this.#handlers.clear();
  }

  #set(next: Map<StateKey<M, K>, M[K]>): void {
    this.#state = next;
    this.#ready = true;
    for (const handler of [...this.#handlers]) {
      try {
        handler(next);
      } catch (error) {
        const g = globalThis as { reportError?: (e: unknown) => void };
        if (typeof g.reportError === "function") g.reportError(error);
        else console.error(error);
      }
    }
  }
}
