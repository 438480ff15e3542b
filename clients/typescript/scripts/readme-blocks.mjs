// Extracts every ```ts and ```tsx block of the README (the workspace's
// README.md) into test/readme/, beside the demo's generated event map, so
// `tsc -p test/readme` type-checks the guide against the package as built.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
const dir = fileURLToPath(new URL("../test/readme/", import.meta.url));
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.startsWith("block-")) rmSync(dir + f);
copyFileSync(fileURLToPath(new URL("../demo/continuum-events.ts", import.meta.url)), dir + "continuum-events.ts");

let count = 0;
const fence = /^```(ts|tsx)\s*$([\s\S]*?)^```\s*$/gm;
for (const match of readme.matchAll(fence)) {
  count += 1;
  const line = readme.slice(0, match.index).split("\n").length;
  const body = `// README.md line ${line}\n${match[2].trimStart()}\nexport {};\n`;
  writeFileSync(`${dir}block-${String(count).padStart(2, "0")}.${match[1]}`, body);
}
if (count === 0) throw new Error("no ```ts block in README.md");
console.log(`README.md: ${count} TypeScript blocks to type-check`);
