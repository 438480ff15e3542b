// Bundles test/browser/hook-app.tsx (React + the hook, development build so
// StrictMode double-runs effects) into build/hook-app.js for the Chromium test.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

await build({
  entryPoints: [fileURLToPath(new URL("../test/browser/hook-app.tsx", import.meta.url))],
  outfile: fileURLToPath(new URL("../build/hook-app.js", import.meta.url)),
  bundle: true,
  format: "iife",
  target: "es2022",
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"development"' },
  logLevel: "warning",
});
console.log("wrote build/hook-app.js");
