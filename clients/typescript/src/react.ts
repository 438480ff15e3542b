/**
 * `useContinuumServerEvents`: Continuum events in React components.
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
 * @module
 */

import { useEffect, useLayoutEffect, useRef, useState } from "react";

import {
  subscribe,
  type EventSourceConstructor,
  type SubscribeOptions,
  type Subscription,
} from "./subscribe.js";
import type {
  Connected,
  ContinuumMessage,
  EventMapLike,
  EventName,
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
  onReset?: (reason: ResetReason) => void;
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
}

/** The map of a shared connection: components with different maps may share one. */
type AnyMap = Record<string, unknown>;

interface Shared {
  sub: Subscription<AnyMap>;
  users: number;
  closing: ReturnType<typeof setTimeout> | undefined;
}

/** One connection per url + types + credentials, shared by every component that asks for it. */
const connections = new Map<string, Shared>();

function acquire(key: string, make: () => Subscription<AnyMap>): Shared {
  let shared = connections.get(key);
  if (!shared) {
    shared = { sub: make(), users: 0, closing: undefined };
    connections.set(key, shared);
  }
  clearTimeout(shared.closing);
  shared.closing = undefined;
  shared.users += 1;
  return shared;
}

function release(key: string, shared: Shared): void {
  shared.users -= 1;
  if (shared.users > 0) return;
  // Close one task later, so a component that re-subscribes at once (new
  // handler names, React's StrictMode double effects) keeps the connection.
  shared.closing = setTimeout(() => {
    if (shared.users === 0 && connections.get(key) === shared) {
      connections.delete(key);
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
  const key = JSON.stringify([url, [...types].sort(), withCredentials]);
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
  });

  useEffect(() => {
    const shared = acquire(key, () => {
      const init: SubscribeOptions<AnyMap> = { url, withCredentials };
      if (types.length) init.types = types as readonly string[];
      const ctor = optionsRef.current.EventSource;
      if (ctor) init.EventSource = ctor;
      return subscribe<AnyMap>(init);
    });
    const sub = shared.sub as unknown as Subscription<M>;
    setState({ status: sub.status, lastEventId: sub.lastEventId });
    const offs = [
      sub.onStatus((status) => {
        setState((s) => (s.status === status ? s : { ...s, status }));
        optionsRef.current.onStatus?.(status);
      }),
      sub.onLastEventId((lastEventId) => setState((s) => ({ ...s, lastEventId }))),
      sub.onReset((reason) => optionsRef.current.onReset?.(reason)),
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
      release(key, shared);
    };
    // `types` and the rest are in `key`; handlers and callbacks are in refs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, names]);

  return state;
}
