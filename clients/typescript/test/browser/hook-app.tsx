// The page the Chromium test renders (tests/typescript.rs): two components
// using useContinuumServerEvents with the same options (so they share one
// connection), under StrictMode, against the real demo server given in
// `?events=`. The DOM shows what the hook gives them; `window.continuumTest`
// lets the test re-render (new closures every time) and unmount. With
// `?mode=state`, two components show useContinuumState's map instead.

import { StrictMode, useState } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { useContinuumServerEvents, useContinuumState } from "../../src/react.js";
import {
  continuumContract,
  continuumKeys,
  type AiTaskProgress,
  type ContinuumEventMap,
} from "../../demo/continuum-events.js";

const params = new URLSearchParams(location.search);
const url = params.get("events") ?? "/api/events";

function Tasks({ name, renders }: { name: string; renders: number }) {
  const [tasks, setTasks] = useState<Record<string, AiTaskProgress>>({});
  const [resets, setResets] = useState<string[]>([]);
  const [statuses, setStatuses] = useState<string[]>([]);
  // New handler and option closures on every render: they must not reconnect.
  const { status, lastEventId } = useContinuumServerEvents<ContinuumEventMap>(
    { "ai.task.progress": ({ data }) => setTasks((t) => ({ ...t, [data.taskId]: data })) },
    {
      url,
      types: ["ai.task.*"],
      onReset: (reason) => setResets((r) => [...r, reason]),
      onStatus: (s) => setStatuses((all) => [...all, s]),
    },
  );
  return (
    <section
      id={name}
      data-status={status}
      data-last-event-id={lastEventId ?? ""}
      data-resets={resets.join(",")}
      data-statuses={statuses.join(",")}
      data-renders={renders}
    >
      <h2>
        {name}: {status}
      </h2>
      {Object.values(tasks).map((t) => (
        <div className="task" key={t.taskId} data-task-id={t.taskId} data-stage={t.stage} data-progress={t.progress}>
          {t.taskId} {t.stage} {t.progress}%
        </div>
      ))}
    </section>
  );
}

function App() {
  const [renders, setRenders] = useState(0);
  const [mounted, setMounted] = useState(true);
  (window as unknown as { continuumTest: object }).continuumTest = {
    rerender: () => flushSync(() => setRenders((n) => n + 1)),
    unmount: () => flushSync(() => setMounted(false)),
  };
  return (
    <main data-renders={renders}>
      {mounted && (
        <>
          <Tasks name="a" renders={renders} />
          <Tasks name="b" renders={renders} />
        </>
      )}
    </main>
  );
}

/** The live state of the demo's tasks, as the hook gives it, in the DOM. */
function State({ name }: { name: string }) {
  const tasks = useContinuumState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", {
    url,
    keys: continuumKeys,
    contract: continuumContract,
  });
  return (
    <section id={name} data-size={tasks.size}>
      {[...tasks.values()].map((t) => (
        <div className="task" key={t.taskId} data-task-id={t.taskId} data-stage={t.stage} data-progress={t.progress}>
          {t.taskId} {t.stage} {t.progress}%
        </div>
      ))}
    </section>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    {params.get("mode") === "state" ? (
      <main>
        <State name="s1" />
        <State name="s2" />
      </main>
    ) : (
      <App />
    )}
  </StrictMode>,
);
