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
