import type { OutboxEntry } from "../../src/domain/market/commands";
import { rowPages } from "./row-pages";

/**
 * Entries held at most (~0.3-0.4 KB each in the heap: ~4 MB): four times the backlog of a
 * ~100 ms lag at 10,000 orders/s. Beyond, a backlog (settlement far behind) is read from storage.
 */
const HELD_ENTRIES = 10_000;

/** A stored outbox page as it was written: its entries (the objects its body is the JSON of). */
export interface HeldPage {
  epoch: string;
  entries: readonly OutboxEntry[];
}

/**
 * The outbox pages this object committed, kept in memory as the entries they were written from,
 * so its settler builds `settle_page`'s columns from them instead of reading each page's text
 * back and parsing it (`readOutboxPages`). Storage stays the record: a read takes a page from
 * here only when storage still holds that very page (same last sequence, same count), so a page
 * acknowledged in part, written before a restart or beyond the bound is read from storage.
 * Entries are never changed once committed (the fan-out only reads them).
 */
export class HeldOutbox {
  /** By last sequence, in sequence order (pages are committed in order). */
  private readonly pages = new Map<number, HeldPage>();
  private held = 0;

  constructor(private readonly maxEntries = HELD_ENTRIES) {}

  /** A flush's entries, committed under `epoch`: paged as `appendOutbox` pages them. */
  committed(entries: readonly OutboxEntry[], epoch: string | undefined): void {
    if (epoch === undefined) return;
    for (const page of rowPages(entries)) {
      // Full: this page and those after it are read from storage (a gap here is only a miss).
      if (this.held + page.length > this.maxEntries) return;
      this.pages.set(page[page.length - 1]!.seq, { epoch, entries: page });
      this.held += page.length;
    }
  }

  /** The page stored with last sequence `seq` and `n` entries, if held. */
  page(seq: number, n: number): HeldPage | undefined {
    const page = this.pages.get(seq);
    return page?.entries.length === n ? page : undefined;
  }

  /** Storage holds (or will hold, once an acknowledgement is applied) nothing below `seq`: nor does this. */
  dropBelow(seq: number): void {
    for (const [last, page] of this.pages) {
      if (last >= seq) return;
      this.pages.delete(last);
      this.held -= page.entries.length;
    }
  }

  get size(): number {
    return this.pages.size;
  }
}
