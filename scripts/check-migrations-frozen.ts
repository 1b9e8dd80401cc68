/**
 * `npm run lint`: no committed migration is edited or removed, and every migration is listed in
 * migrations/frozen.sha256 (scripts/lib/frozen-migrations.ts says why).
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { FROZEN_LIST, frozenMigrationProblems, parseFrozenList } from "./lib/frozen-migrations";

const hashes = new Map(
  readdirSync("migrations")
    .filter((name) => name.endsWith(".sql"))
    .map((name) => `migrations/${name}`)
    .map((file) => [file, createHash("sha256").update(readFileSync(file)).digest("hex")] as const),
);
const problems = frozenMigrationProblems(hashes, parseFrozenList(readFileSync(FROZEN_LIST, "utf8")));
if (problems.length > 0) {
  console.error("Committed migrations are frozen (a change goes in a new migration):");
  for (const line of problems) console.error(`  ${line}`);
  process.exit(1);
}
console.log(`Migrations: ${hashes.size} frozen, none edited.`);
