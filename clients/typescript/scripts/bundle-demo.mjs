// Bundles demo/page.ts (the demo page's script, written with @continuum/client;
// its task list is React) into ../../src/demo/page.js, which the Rust demo
// inlines into its page. React's production build, minified: the page is
// served from the binary.
//   node scripts/bundle-demo.mjs           write the bundle
//   node scripts/bundle-demo.mjs --check   fail when the committed bundle is stale
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const out = fileURLToPath(new URL("../../../src/demo/page.js", import.meta.url));
const result = await build({
  entryPoints: [fileURLToPath(new URL("../demo/page.ts", import.meta.url))],
  bundle: true,
  format: "iife",
  target: "es2022",
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  minify: true,
  charset: "utf8",
  legalComments: "none",
  banner: { js: "// Bundled from clients/typescript/demo/page.ts by `npm run bundle:demo`. Do not edit." },
  write: false,
});
const text = result.outputFiles[0].text;
if (text.includes("</script")) throw new Error("the bundle contains `</script`: it cannot be inlined");
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {}
  if (current !== text) {
    console.error(`src/demo/page.js is stale: run \`npm run bundle:demo\` in clients/typescript and commit it`);
    process.exit(1);
  }
  console.log("src/demo/page.js is up to date");
} else {
  writeFileSync(out, text);
  console.log(`wrote src/demo/page.js (${text.length} bytes)`);
}
