// The demo page's task list: the live state of `ai.task.progress`, one row
// per task, from `useContinuumState`. On load the server's snapshot shows
// every running task at once; after a server restart (or any reset) the hook
// rebuilds the list from the snapshot that follows. No refetch code.

import { useContinuumState } from "../src/react.js";
import { continuumContract, continuumKeys, type ContinuumEventMap } from "./continuum-events.js";

/** Rows shown at most: the most recently started tasks. */
const SHOWN = 12;

export function Tasks({ path }: { path: string }) {
  const tasks = useContinuumState<ContinuumEventMap, "ai.task.progress">("ai.task.progress", {
    url: path,
    keys: continuumKeys,
    contract: continuumContract,
    // The server runs a newer contract than this page was built with: load the new page.
    onContractReset: () => window.location.reload(),
  });
  const shown = [...tasks.values()].slice(-SHOWN);
  if (shown.length === 0) {
    return <p id="empty">No task yet: the simulator starts some, or send one with the curl line below.</p>;
  }
  return (
    <>
      {shown.map((task) => (
        <div
          className="task"
          key={task.taskId}
          data-task-id={task.taskId}
          data-stage={task.stage}
          data-progress={task.progress}
          data-done={String(task.stage === "done")}
        >
          <span className="id">{task.taskId}</span>
          <span className="stage">{task.stage}</span>
          <progress max={100} value={task.progress} />
          <span className="pct">{task.progress}%</span>
        </div>
      ))}
    </>
  );
}
