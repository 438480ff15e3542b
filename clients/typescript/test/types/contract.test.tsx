// The TypeScript twin of the trybuild suite: the contract of @continuum/client
// against the demo's generated event map. Every `@ts-expect-error` line must
// be an error (tsc fails on an unused one); every other line must compile.
// Run by `npm run typecheck` (and so by `cargo test --test typescript`).

import {
  subscribe,
  subscribeState,
  publish,
  PublishError,
  type ResetDetail,
  type ResetReason,
  type SnapshotInfo,
  type Status,
} from "@continuum/client";
import { useContinuumServerEvents, useContinuumState } from "@continuum/client/react";
import { useState } from "react";
import { continuumContract, type AiTaskProgress, type ContinuumEventMap, type Stage } from "../../demo/continuum-events";

declare function refetch(): void;
declare const token: string;

// ---- subscribe: correct uses ------------------------------------------------
const sub = subscribe<ContinuumEventMap>({ url: "/api/events", types: ["ai.task.*"] });
subscribe<ContinuumEventMap>({ url: "/api/events", types: ["ai.*", "ai.task.progress", "*"], withCredentials: false });
subscribe<ContinuumEventMap>({ url: "https://api.example.com/api/events", lastEventId: "abc" });
sub.on("ai.task.progress", (event) => {
  const taskId: string = event.data.taskId;
  const progress: number = event.data.progress;
  const stage: Stage = event.data.stage;
  const id: string = event.id;
  const type: "ai.task.progress" = event.type;
  if (event.data.stage === "generating" || event.data.stage === "failed") void [taskId, progress, stage, id, type];
});
const off = sub.on("ai.task.progress", ({ data }: { data: AiTaskProgress }) => data.progress);
off();
sub.onReset((reason) => {
  const r: ResetReason = reason;
  if (r === "foreign_epoch" || r === "stream_lost" || r === "lagged" || r === "evicted" || r === "unknown_id") refetch();
});
sub.onStatus((status) => {
  const s: "connecting" | "open" | "reconnecting" | "closed" = status;
  void s;
});
sub.onConnected(({ connectionId, epoch }) => void [connectionId.length, epoch.length]);
const lastId: string | undefined = sub.lastEventId;
const now: Status = sub.status;
void [lastId, now];
sub.close();

// ---- subscribe: misuse ------------------------------------------------------
// @ts-expect-error 1: an event name that is not in the map
sub.on("ai.task.finished", () => {});
// @ts-expect-error 2: a typo in the event name
sub.on("ai.task.progres", () => {});
sub.on("ai.task.progress", (event) => {
  // @ts-expect-error 3: a field the payload lacks
  event.data.percent;
  // @ts-expect-error 4: the Rust name, not the wire name
  event.data.task_id;
  // @ts-expect-error 5: a stage outside its union
  if (event.data.stage === "finished") refetch();
  // @ts-expect-error 6: progress is a number
  const p: string = event.data.progress;
  // @ts-expect-error 7: a received event is read-only
  event.id = "other";
  void p;
});
sub.onReset((reason) => {
  // @ts-expect-error 8: not a reset reason
  if (reason === "restarted") refetch();
});
sub.onStatus((status) => {
  // @ts-expect-error 9: not a status ("open", not "connected")
  if (status === "connected") refetch();
});
// @ts-expect-error 10: a type filter that matches no event
subscribe<ContinuumEventMap>({ url: "/api/events", types: ["media.*"] });
// @ts-expect-error 11: an exact name that is not in the map
subscribe<ContinuumEventMap>({ url: "/api/events", types: ["ai.task.done"] });
// @ts-expect-error 12: the url is required
subscribe<ContinuumEventMap>({ types: ["ai.task.*"] });
// @ts-expect-error 13: a Stage is a wire name, not the Rust variant
const rustName: Stage = "Generating";
void rustName;

// ---- publish: correct uses --------------------------------------------------
async function publishing(): Promise<void> {
  const { id, ids, replayed } = await publish<ContinuumEventMap>(
    "http://127.0.0.1:3000/api/events",
    { type: "ai.task.progress", data: { taskId: "gen-1", stage: "prompting", progress: 10 } },
    { token, idempotencyKey: "gen-1:prompting" },
  );
  void [id.length, ids.length, replayed];
  await publish<ContinuumEventMap>("http://127.0.0.1:3000/api/events", [
    { type: "ai.task.progress", data: { taskId: "gen-1", stage: "done", progress: 100 }, channel: "user:42" },
  ]);
  try {
    await publish<ContinuumEventMap>("/api/events", { type: "ai.task.progress", data: { taskId: "", stage: "done", progress: 100 } });
  } catch (error) {
    if (error instanceof PublishError && error.code === "invalid_event") {
      for (const issue of error.issues) void [issue.path, issue.message, issue.code === "length"];
      // @ts-expect-error 14: not an issue code
      void error.issues.filter((i) => i.code === "too_long");
      // @ts-expect-error 15: not an error code
      if (error.code === "invalid_payload") refetch();
    }
  }

  // ---- publish: misuse --------------------------------------------------------
  // @ts-expect-error 16: a stage outside the union
  await publish<ContinuumEventMap>("/api/events", { type: "ai.task.progress", data: { taskId: "a", stage: "finished", progress: 1 } });
  // @ts-expect-error 17: progress as a string
  await publish<ContinuumEventMap>("/api/events", { type: "ai.task.progress", data: { taskId: "a", stage: "done", progress: "1" } });
  // @ts-expect-error 18: a missing field
  await publish<ContinuumEventMap>("/api/events", { type: "ai.task.progress", data: { taskId: "a", stage: "done" } });
  // @ts-expect-error 19: a field the payload lacks
  await publish<ContinuumEventMap>("/api/events", { type: "ai.task.progress", data: { taskId: "a", stage: "done", progress: 1, eta: 3 } });
  // @ts-expect-error 20: an unknown event type
  await publish<ContinuumEventMap>("/api/events", { type: "ai.task.cancelled", data: { taskId: "a" } });
  // @ts-expect-error 21: an unknown option
  await publish<ContinuumEventMap>("/api/events", { type: "ai.task.progress", data: { taskId: "a", stage: "done", progress: 1 } }, { tokn: "x" });
}
void publishing;

// ---- the React hook ---------------------------------------------------------
export function Progress({ url }: { url: string }) {
  const [progress, setProgress] = useState(0);
  const { status, lastEventId } = useContinuumServerEvents<ContinuumEventMap>(
    { "ai.task.progress": ({ data }) => setProgress(data.progress) },
    { url, types: ["ai.task.*"], onReset: (reason) => void reason, onStatus: (s) => void s },
  );
  useContinuumServerEvents<ContinuumEventMap>({
    "ai.task.progress": (event) => {
      // @ts-expect-error 22: a field the payload lacks, in a hook handler
      setProgress(event.data.percent);
      // @ts-expect-error 23: a stage outside its union, in a hook handler
      if (event.data.stage === "Done") refetch();
    },
  });
  useContinuumServerEvents<ContinuumEventMap>({
    // @ts-expect-error 24: a handler for an event not in the map
    "ai.task.finished": () => {},
  });
  useContinuumServerEvents<ContinuumEventMap>({}, {
    // @ts-expect-error 25: onReset takes a typed reason
    onReset: (reason: number) => void reason,
  });
  // @ts-expect-error 26: the hook's status is a Status
  const wrong: "connected" = status;
  void wrong;
  return (
    <p data-status={status} data-last-event-id={lastEventId ?? ""}>
      {progress}%
    </p>
  );
}

// ---- contract, snapshot and keyed state -------------------------------------
// What the generated `continuumKeys` holds for the demo once its event is keyed.
const keys = { "ai.task.progress": "taskId" } as const;
const live = subscribe<ContinuumEventMap>({ url: "/api/events", contract: continuumContract, snapshot: true });
live.onContractReset((types) => {
  const changed: readonly string[] = types;
  if (changed.length) window.location.reload();
});
live.onReset((reason: ResetReason, detail: ResetDetail) => {
  if (reason === "contract" || reason === "other") void [detail.wireReason, detail.types.length];
});
live.onSnapshot((info: SnapshotInfo) => void [info.count + 1, info.types.length]);
const skipped: number = live.skipped;
void skipped;
// @ts-expect-error 27: snapshot is a boolean
subscribe<ContinuumEventMap>({ url: "/api/events", snapshot: "yes" });
// @ts-expect-error 28: a contract has its fingerprint
subscribe<ContinuumEventMap>({ url: "/api/events", contract: { versions: {} } });
const tasks = subscribeState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", { url: "/api/events", keys });
const one: AiTaskProgress | undefined = tasks.state.get("gen-1");
tasks.onChange((state) => void [...state.values()].map((t) => t.progress + 1));
void [one, tasks.ready, tasks.subscription.status];
// @ts-expect-error 29: a key field the payload lacks (the Rust name)
subscribeState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", { url: "/api/events", keys: { "ai.task.progress": "task_id" } });
// @ts-expect-error 30: the state of an event not in the map
subscribeState<ContinuumEventMap, "ai.task.done">("ai.task.done", { url: "/api/events", keys });

export function TaskList() {
  const state = useContinuumState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", {
    keys,
    contract: continuumContract,
    onContractReset: () => window.location.reload(),
  });
  const { contractReset } = useContinuumServerEvents<ContinuumEventMap>({}, { contract: continuumContract });
  // @ts-expect-error 31: the state is read-only
  state.delete("gen-1");
  // @ts-expect-error 32: a field the payload lacks, in the state
  void state.get("gen-1")?.percent;
  return (
    <ul data-reload={contractReset}>
      {[...state.values()].map((t) => (
        <li key={t.taskId}>
          {t.taskId} {t.stage} {t.progress}%
        </li>
      ))}
    </ul>
  );
}
