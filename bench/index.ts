// `npm run bench`: every benchmark of the project in turn (each `bench:*` script), one after
// the other so they never compete for the two cores. Figures go to docs/BENCHMARKS.md by hand.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const scripts = Object.keys(
  (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts,
).filter((name) => name.startsWith("bench:"));

const only = process.argv.slice(2);
let failed = 0;
for (const script of scripts) {
  if (only.length > 0 && !only.some((o) => script.endsWith(o))) continue;
  console.log(`\n=== npm run ${script} ===`);
  const { status } = spawnSync("npm", ["run", "--silent", script], { stdio: "inherit" });
  if (status !== 0) {
    failed++;
    console.error(`=== ${script} failed (exit ${status}) ===`);
  }
}
process.exit(failed === 0 ? 0 : 1);
