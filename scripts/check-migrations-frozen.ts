/**
 * `npm run lint`: no committed migration is edited or removed, every migration is listed in
 * migrations/frozen.sha256, and the journal's `when` values strictly increase in journal order
 * (scripts/lib/frozen-migrations.ts says why).
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import {
  FROZEN_LIST,
  JOURNAL,
  JOURNAL_ORDER_EXCEPTIONS,
  frozenMigrationProblems,
  journalOrderProblems,
  parseFrozenList,
} from "./lib/frozen-migrations";

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
const journal = JSON.parse(readFileSync(JOURNAL, "utf8")) as { entries: { tag: string; when: number }[] };
const unordered = journalOrderProblems(journal.entries, JOURNAL_ORDER_EXCEPTIONS);
if (unordered.length > 0) {
  console.error(
    "The journal's `when` values must strictly increase (drizzle skips a migration whose `when` is not later than the last applied one's):",
  );
  for (const line of unordered) console.error(`  ${line}`);
  process.exit(1);
}
console.log(
  `Migrations: ${hashes.size} frozen, none edited; ${journal.entries.length} journal entries in increasing \`when\` (${JOURNAL_ORDER_EXCEPTIONS.size} older ones excepted).`,
);
