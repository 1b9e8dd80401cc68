/**
 * Entries one storage row of the outbox or the journal holds at most: a Durable Object row holds
 * at most 2 MB, and the largest entry (a trade's outbox entry) is about 500 bytes of JSON.
 */
export const ROW_PAGE_ENTRIES = 2_000;

/** `entries` as consecutive pages of at most `ROW_PAGE_ENTRIES`: itself, uncopied, when it fits. */
export function* rowPages<T>(entries: readonly T[]): Generator<readonly T[]> {
  if (entries.length <= ROW_PAGE_ENTRIES) {
    if (entries.length > 0) yield entries;
    return;
  }
  for (let at = 0; at < entries.length; at += ROW_PAGE_ENTRIES)
    yield entries.slice(at, at + ROW_PAGE_ENTRIES);
}
