/**
 * `useContinuumServerEvents`: Continuum events in React components;
 * `useContinuumState`: the live state of a keyed event (latest data per
 * key), rebuilt by itself after a restart or a reset.
 *
 * @example
 * ```tsx
 * import { useState } from "react";
 * import { useContinuumServerEvents } from "@continuum/client/react";
 * import type { ContinuumEventMap } from "./continuum-events";
 *
 * export function TaskProgress({ onReset }: { onReset: () => void }) {
 *   const [progress, setProgress] = useState(0);
 *   const { status } = useContinuumServerEvents<ContinuumEventMap>(
 *     { "ai.task.progress": ({ data }) => setProgress(data.progress) },
 *     { url: "/api/events", types: ["ai.task.*"], onReset },
 *   );
 *   return <progress max={100} value={progress} title={status} />;
 * }
 * ```
 *
 * @example
 * ```tsx
 * import { useContinuumState } from "@continuum/client/react";
 * import { continuumKeys, type ContinuumEventMap } from "./continuum-events";
 *
 * export function Tasks() {
 *   const tasks = useContinuumState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", {
 *     keys: continuumKeys,
 *   });
 *   return <ul>{[...tasks.values()].map((t) => <li key={t.taskId}>{t.taskId}: {t.progress}%</li>)}</ul>;
 * }
 * ```
 *
 * @module
 */

import { useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";

import { subscribeState, type StateKey, type StateSubscription } from "./state.js";
import {
  subscribe,
  type EventSourceConstructor,
  type SubscribeOptions,
  type Subscription,
} from "./subscribe.js";
import type {
  Connected,
  ContinuumMessage,
  ContractLike,
  EventMapLike,
  EventName,
  KeyMapLike,
  ResetDetail,
  ResetReason,
  Status,
  TypePattern,
} from "./types.js";

/** One handler per event name of `M`, each typed by its payload. */
export type Handlers<M extends EventMapLike> = {
  [K in EventName<M>]?: (event: ContinuumMessage<M, K>) => void;
};

/** Options of {@link useContinuumServerEvents}. */
export interface ServerEventsOptions<M extends EventMapLike> {
  /** The events endpoint. Default `"/api/events"`. */
  url?: string;
  /** Only these events: names of `M`, prefix wildcards (`"ai.task.*"`), or `"*"`. Default: every event. */
  types?: readonly TypePattern<M>[];
  /** Send cookies, also cross-origin. Default `true`. */
  withCredentials?: boolean;
  /** On `continuum.reset`: refetch the state these events update. */
  onReset?: (reason: ResetReason, detail: ResetDetail) => void;
  /**
   * The contract this bundle was built with: `continuumContract` from the
   * generated module. A server on another contract then answers with a
   * `contract` reset ({@link ServerEventsOptions.onContractReset}).
   */
  contract?: ContractLike;
  /** On a `contract` reset: the server runs a newer contract; e.g. `window.location.reload()`. */
  onContractReset?: (types: readonly string[]) => void;
  /** On every status change. */
  onStatus?: (status: Status) => void;
  /** On `continuum.connected` (every connection, reconnections included). */
  onConnected?: (connected: Connected) => void;
  /** The `EventSource` to use. Default: the browser's. */
  EventSource?: EventSourceConstructor;
}

/** What {@link useContinuumServerEvents} returns. */
export interface ServerEventsState {
  /** The shared connection's status. */
  status: Status;
  /** The id of the last message the connection received. */
  lastEventId: string | undefined;
  /** Whether the server said its contract differs from this bundle's (a `contract` reset): time to reload. */
  contractReset: boolean;
}

/** The map of a shared connection: components with different maps may share one. */
type AnyMap = Record<string, unknown>;

/** One connection per url + types + credentials, shared by every component that asks for it. */
const connections = new Map<string, Counted<Subscription<AnyMap>>>();

/** A shared thing that closes when its last user is gone. */
interface Counted<T extends { close(): void }> {
  sub: T;
  users: number;
  closing: ReturnType<typeof setTimeout> | undefined;
}

function acquire<T extends { close(): void }>(
  table: Map<string, Counted<T>>,
  key: string,
  make: () => T,
): Counted<T> {
  let shared = table.get(key);
  if (!shared) {
    shared = { sub: make(), users: 0, closing: undefined };
    table.set(key, shared);
  }
  clearTimeout(shared.closing);
  shared.closing = undefined;
  shared.users += 1;
  return shared;
}

function release<T extends { close(): void }>(
  table: Map<string, Counted<T>>,
  key: string,
  shared: Counted<T>,
): void {
  shared.users -= 1;
  if (shared.users > 0) return;
  // Close one task later, so a component that re-subscribes at once (new
  // handler names, React's StrictMode double effects) keeps the connection.
  shared.closing = setTimeout(() => {
    if (shared.users === 0 && table.get(key) === shared) {
      table.delete(key);
      shared.sub.close();
    }
  }, 0);
}

const useIsomorphicLayoutEffect = typeof window === "undefined" ? useEffect : useLayoutEffect;

/**
 * Subscribe a component to Continuum events, typed by the event map `M`.
 *
 * Handlers and options are read through refs, so passing new closures on
 * every render never reconnects; only a change of `url`, `types` or
 * `withCredentials` does (and a change of which events have handlers
 * re-registers listeners on the same connection). Components that use the
 * same `url`, `types` and `withCredentials` share one `EventSource`; it
 * closes when the last of them unmounts.
 */
export function useContinuumServerEvents<M extends EventMapLike>(
  handlers: Handlers<M>,
  options: ServerEventsOptions<M> = {},
): ServerEventsState {
  const url = options.url ?? "/api/events";
  const types = options.types ?? [];
  const withCredentials = options.withCredentials ?? true;
  const fingerprint = options.contract?.fingerprint ?? null;
  const key = JSON.stringify([url, [...types].sort(), withCredentials, fingerprint]);
  const names = Object.keys(handlers).sort().join("\n");

  const handlersRef = useRef(handlers);
  const optionsRef = useRef(options);
  useIsomorphicLayoutEffect(() => {
    handlersRef.current = handlers;
    optionsRef.current = options;
  });

  const [state, setState] = useState<ServerEventsState>({
    status: "connecting",
    lastEventId: undefined,
    contractReset: false,
  });

  useEffect(() => {
    const shared = acquire(connections, key, () => {
      const init: SubscribeOptions<AnyMap> = { url, withCredentials };
      if (types.length) init.types = types as readonly string[];
      const ctor = optionsRef.current.EventSource;
      if (ctor) init.EventSource = ctor;
      const contract = optionsRef.current.contract;
      if (contract) init.contract = contract;
      return subscribe<AnyMap>(init);
    });
    const sub = shared.sub as unknown as Subscription<M>;
    setState({ status: sub.status, lastEventId: sub.lastEventId, contractReset: false });
    const offs = [
      sub.onStatus((status) => {
        setState((s) => (s.status === status ? s : { ...s, status }));
        optionsRef.current.onStatus?.(status);
      }),
      sub.onLastEventId((lastEventId) => setState((s) => ({ ...s, lastEventId }))),
      sub.onReset((reason, detail) => optionsRef.current.onReset?.(reason, detail)),
      sub.onContractReset((changed) => {
        setState((s) => (s.contractReset ? s : { ...s, contractReset: true }));
        optionsRef.current.onContractReset?.(changed);
      }),
      sub.onConnected((connected) => optionsRef.current.onConnected?.(connected)),
      ...names
        .split("\n")
        .filter(Boolean)
        .map((name) =>
          sub.on(name as EventName<M>, (event) => {
            const handler = handlersRef.current[name as EventName<M>] as
              | ((e: typeof event) => void)
              | undefined;
            handler?.(event);
          }),
        ),
    ];
    return () => {
      for (const off of offs) off();
      release(connections, key, shared);
    };
    // `types` and the rest are in `key`; handlers and callbacks are in refs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, names]);

  return state;
}

/** Options of {@link useContinuumState}. */
export interface StateHookOptions<M extends EventMapLike> {
  /** The key field of every keyed event: `continuumKeys` from the generated module. */
  keys: KeyMapLike<M>;
  /** The events endpoint. Default `"/api/events"`. */
  url?: string;
  /** Send cookies, also cross-origin. Default `true`. */
  withCredentials?: boolean;
  /** The contract this bundle was built with: `continuumContract` from the generated module. */
  contract?: ContractLike;
  /** On a `contract` reset: the server runs a newer contract; e.g. `window.location.reload()`. */
  onContractReset?: (types: readonly string[]) => void;
  /** The `EventSource` to use. Default: the browser's. */
  EventSource?: EventSourceConstructor;
}

type AnyState = StateSubscription<AnyMap, string>;

/** One state subscription per url + type + credentials + contract, shared by every component that asks. */
const states = new Map<string, Counted<AnyState>>();

/** The state before any is known (and on the server, when rendering there). */
const EMPTY: ReadonlyMap<unknown, unknown> = new Map<unknown, unknown>();

/**
 * The live state of the keyed event `type`: a `ReadonlyMap` from each key
 * (the field `key = …` names in the Rust declaration) to the latest data,
 * typed by the generated event map.
 *
 * It subscribes with `snapshot=true`, so it shows every live key on first
 * connect, without an application endpoint; every event (live, or the
 * latest per key the server conflated for a slow tab) is applied by its
 * key; after a server restart or any other reset it rebuilds itself from
 * the snapshot the server sends after the reset, swapping the whole map in
 * one render. The map object changes exactly when the state does.
 * Components asking for the same state share one connection.
 */
export function useContinuumState<M extends EventMapLike, K extends EventName<M> = EventName<M>>(
  type: K,
  options: StateHookOptions<M>,
): ReadonlyMap<StateKey<M, K>, M[K]> {
  const url = options.url ?? "/api/events";
  const withCredentials = options.withCredentials ?? true;
  const key = JSON.stringify([url, type, withCredentials, options.contract?.fingerprint ?? null]);

  const optionsRef = useRef(options);
  useIsomorphicLayoutEffect(() => {
    optionsRef.current = options;
  });

  const listen = useCallback(
    (changed: () => void) => {
      const shared = acquire(states, key, () => {
        const o = optionsRef.current;
        const init: Parameters<typeof subscribeState<AnyMap, string>>[1] = {
          url,
          withCredentials,
          keys: o.keys as KeyMapLike<AnyMap>,
        };
        if (o.contract) init.contract = o.contract;
        if (o.EventSource) init.EventSource = o.EventSource;
        return subscribeState<AnyMap, string>(type, init);
      });
      const offs = [
        shared.sub.onChange(changed),
        shared.sub.subscription.onContractReset((types) => optionsRef.current.onContractReset?.(types)),
      ];
      // The state may have changed between the render and this subscription.
      changed();
      return () => {
        for (const off of offs) off();
        release(states, key, shared);
      };
    },
    // `url`, `type` and the credentials are in `key`; the rest is in a ref.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key],
  );
  const read = () => (states.get(key)?.sub.state ?? EMPTY) as ReadonlyMap<StateKey<M, K>, M[K]>;
  return useSyncExternalStore(listen, read, () => EMPTY as ReadonlyMap<StateKey<M, K>, M[K]>);
}
