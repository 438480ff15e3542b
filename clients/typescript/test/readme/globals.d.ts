// What the README's snippets call but do not define: the reader's own code.
declare function refetchTasks(): void;
declare function render(taskId: string, stage: string, progress: number): void;
