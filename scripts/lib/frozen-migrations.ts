/**
 * Migrations already committed are frozen: production applied them and never applies them
 * again, so an edit would change only fresh databases (CI, development) and hide what production
 * runs. `migrations/frozen.sha256` lists each migration's SHA-256 (`sha256sum` format, so
 * `sha256sum -c migrations/frozen.sha256` checks it too); a change goes in a new migration.
 */
export const FROZEN_LIST = "migrations/frozen.sha256";

/** `<hex>  <path>` lines of the list, keyed by path. */
export function parseFrozenList(text: string): Map<string, string> {
  const listed = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.trim());
    if (match) listed.set(match[2]!, match[1]!);
  }
  return listed;
}

/** What breaks the rule: `hashes` are the migrations present now, by path. */
export function frozenMigrationProblems(hashes: Map<string, string>, listed: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, hash] of hashes) {
    const frozen = listed.get(file);
    if (frozen === undefined)
      problems.push(`${file} is not listed: add \`sha256sum ${file}\` to ${FROZEN_LIST}`);
    else if (frozen !== hash)
      problems.push(`${file} was edited after it was committed: put the change in a new migration`);
  }
  for (const file of listed.keys())
    if (!hashes.has(file))
      problems.push(`${file} is listed but gone: a committed migration is never removed`);
  return problems;
}

export const JOURNAL = "migrations/meta/_journal.json";

/**
 * Entries already out of order when this check came (tag and `when`, exactly): 0007_account_security's
 * `when` lies above those of 0008_user_status, 0009_order_limits and 0010_order_number, which
 * follow it. A database that applied 0007 before they were deployed skips them; one that got them
 * in the same run as 0007 applies all (drizzle runs every pending entry above the last applied
 * `when`). The journal of deployed entries is not rewritten: a new entry gets no exception.
 */
export const JOURNAL_ORDER_EXCEPTIONS: ReadonlyMap<string, number> = new Map([
  ["0008_user_status", 1796512568316],
  ["0009_order_limits", 1796514084058],
  ["0010_order_number", 1796515000000],
]);

/**
 * The journal's `when` values must strictly increase in journal order: drizzle applies a
 * migration only if its `when` is later than the last applied one's, so an entry whose `when` is
 * at or below an earlier entry's is skipped silently by a database that applied that one
 * (production), while a fresh database (CI) applies it and does not notice. Each entry is
 * compared with the latest `when` before it.
 */
export function journalOrderProblems(
  entries: readonly { tag: string; when: number }[],
  exceptions: ReadonlyMap<string, number> = new Map(),
): string[] {
  const problems: string[] = [];
  let latest: { tag: string; when: number } | undefined;
  for (const entry of entries) {
    if (latest && !(entry.when > latest.when) && exceptions.get(entry.tag) !== entry.when)
      problems.push(
        `${JOURNAL}: ${entry.tag}'s when (${entry.when}) is not later than ${latest.tag}'s (${latest.when}): ` +
          `a database that applied ${latest.tag} would skip it silently; give it a when above every earlier entry's`,
      );
    if (!latest || entry.when > latest.when) latest = entry;
  }
  return problems;
}
