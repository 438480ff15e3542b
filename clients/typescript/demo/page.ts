// The demo page's script (`cargo run --example ai_progress`): what a newcomer
// writes with @continuum/client. Types come from `continuum-events.ts`, which
// `cargo run --example ai_progress -- --typescript` generates from the Rust
// declaration in src/demo.rs. Bundled into src/demo/page.js by
// `npm run bundle:demo`; the server inlines it into the page. The task list
// is React (`tasks.tsx`, `useContinuumState`); the status badge and the log
// use a plain subscription.

import { createElement, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { subscribe, type Status } from "../src/index.js";
import type { ContinuumEventMap } from "./continuum-events.js";
import { Tasks } from "./tasks.js";

declare global {
  interface Window {
    CONTINUUM_CONFIG: { path: string; tokenRequired: boolean; node?: string };
  }
}

const config = window.CONTINUUM_CONFIG;
const statusEl = document.getElementById("status")!;
const tasksEl = document.getElementById("tasks")!;
const logEl = document.getElementById("log")!;

type Shown = "connecting" | "connected" | "reconnecting" | "reset" | "closed";

function setStatus(state: Shown, text: string = state): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function log(kind: string, id: string, data: string): void {
  const line = `${new Date().toISOString().slice(11, 23)}  ${kind}${id ? "  #" + id : ""}  ${data}\n`;
  logEl.textContent = (line + logEl.textContent).slice(0, 20000);
}

// The live task list: every running task from the server's snapshot, then
// every change, rebuilt by itself after a restart.
createRoot(tasksEl).render(createElement(StrictMode, null, createElement(Tasks, { path: config.path })));

// One typed subscription for the badge and the log: reconnects by itself and
// resumes from the last id; when the server cannot vouch for what was missed,
// it says reset.
const events = subscribe<ContinuumEventMap>({ url: config.path, types: ["ai.task.*"] });

events.on("ai.task.progress", (event) => log(event.type, event.id, JSON.stringify(event.data)));

events.onStatus((status: Status) => {
  if (status === "open") setStatus("connected");
  else setStatus(status);
});

events.onConnected((connected) => log("continuum.connected", "", JSON.stringify(connected)));

events.onReset((reason) => {
  // Nothing to refetch: the task list rebuilds itself from the snapshot after the reset.
  setStatus("reset", `connected · reset (${reason}): state resynced`);
  log("continuum.reset", events.lastEventId ?? "", reason);
});

// Which node served this page: with several nodes over Redis, an event sent
// to one shows up on every node's page.
document.getElementById("node")!.textContent = config.node ? `served by ${config.node}` : "";

const origin = window.location.origin;
const key = config.tokenRequired ? "  -H 'x-continuum-event-key: $CONTINUUM_EVENT_INGEST_TOKEN' \\\n" : "";
document.getElementById("curl")!.textContent =
  `curl -i -X POST ${origin}${config.path} \\\n  -H 'content-type: application/json' \\\n${key}` +
  `  -d '{"type":"ai.task.progress","data":{"taskId":"from-curl","stage":"generating","progress":42}}'`;
document.getElementById("token-mode")!.textContent = config.tokenRequired
  ? "Ingest requires the token in x-continuum-event-key (CONTINUUM_EVENT_INGEST_TOKEN)."
  : "Ingest is open: no CONTINUUM_EVENT_INGEST_TOKEN is set (fine for local development only).";

// For tests and the curious: the live subscription.
(window as unknown as { continuum: typeof events }).continuum = events;
