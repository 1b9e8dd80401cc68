import type { Database } from "../../db/client";
import { isInvariantBreach, reasonOf } from "./settlement-errors";
import type { MarketRules } from "../market/market-rules";
import type { OutboxEntry } from "./plan";
import { entriesOf, epochOfEntries, settlePage, withEpoch, type PageOutcome } from "./settle-page";
import type { OutboxRead, OutboxSource, ReadPages } from "./settle-market";

/**
 * Pages sent before the ones ahead of them are answered, on ONE kept connection (the market
 * object's settler): Postgres runs them one after the other in the order sent, so the time
 * between two pages (an answer's way back, the object's turn, the next page's way out) leaves
 * settlement's cycle. Each page names the sequence it was read after, and `settle_page` refuses
 * it (`gap`, nothing written) while the cursor is behind that: a page ahead that did not settle
 * never has its entries skipped (docs/decisions/0027-settlement-pages-pipelined.md).
 */
export interface PagePipeline {
  /** Pages out at once (1: each sent once the one before it is answered). */
  depth: number;
  /** Runs ONE statement on the kept connection, written when called: they run in call order. */
  line: <T>(statement: (db: Database) => Promise<T>) => Promise<T>;
  /** When pages go out (kept by the caller across calls: `PagePacing`). */
  pacing: Pacing;
}

export interface Pacing {
  /** When a page may be sent with others out (`depth` at most). */
  due(depth: number): number;
  sent(at: number): void;
  answered(sentAt: number, at: number): void;
}

/**
 * Pages out are spaced by a share of a page's round trip (sent to answered, smoothed): sent at
 * the first chance instead, the page behind a large one held one flush's entries and the next
 * large one waited for the answer as before (pages of ~1,000 and ~100 entries alternating at the
 * WebSocket order.batch load). Spaced, pages are alike and each reaches Postgres about when the
 * one ahead of it ends.
 */
export class PagePacing implements Pacing {
  private roundTripMs = 0;
  private lastSent = -Infinity;

  due(depth: number): number {
    return this.lastSent + this.roundTripMs / depth;
  }

  sent(at: number): void {
    this.lastSent = at;
  }

  answered(sentAt: number, at: number): void {
    const took = at - sentAt;
    this.roundTripMs = this.roundTripMs === 0 ? took : this.roundTripMs + (took - this.roundTripMs) / 4;
  }
}

/** Entries read to be settled in one statement: every entry of the outbox after `afterSeq` up to `top`. */
export interface ReadPage {
  afterSeq: number;
  /** The highest sequence read: the next page is read after it. */
  top: number;
  entries: readonly OutboxEntry[];
  /** The epoch `settle_page` checks (the entries'). */
  epoch: string | null;
  /** What the read says about the book (its epoch, for the acknowledgement and the first check). */
  read: OutboxRead;
  /** The entries in sequence order with their epoch: the planner's, when the page falls back. */
  parsed: () => readonly OutboxEntry[];
}

/** `settle_page`'s answer, or what failed it: never a rejection, so a page may wait to be read. */
export type PageAnswer = { outcome: PageOutcome } | { error: unknown };

export interface SentPage extends ReadPage {
  answer: Promise<PageAnswer>;
}

/**
 * The entries after `afterSeq`: the book's stored pages when the caller reads them in place
 * (`readPages`), else up to `batch` entries over `readOutbox`; `read` alone when there are none.
 */
export async function readPage(
  book: OutboxSource,
  readPages: ReadPages | undefined,
  afterSeq: number,
  sizes: { page: number; batch: number },
): Promise<ReadPage | { read: OutboxRead }> {
  const paged = (await readPages?.(afterSeq, sizes.page)) ?? null;
  if (paged) {
    const entries = entriesOf(paged);
    return {
      afterSeq,
      top: Math.max(...paged.marks.map((m) => m.seq)),
      entries,
      epoch: paged.epoch,
      read: { entries: [], epoch: paged.epoch, lastSeq: paged.lastSeq },
      parsed: () => withEpoch(entries, paged.epoch),
    };
  }
  const read = await book.readOutbox(afterSeq, sizes.batch);
  const { entries } = read;
  if (entries.length === 0) return { read };
  return {
    afterSeq,
    top: Math.max(...entries.map((e) => e.seq)),
    entries,
    epoch: epochOfEntries(entries),
    read,
    parsed: () => entries,
  };
}

/**
 * Sends the page's `settle_page` (on the pipeline's line, else on `db`). A balance or
 * constraint Postgres refused is a `fallback`: the planner finds the entry and quarantines it.
 */
export function sendPage(
  db: Database,
  rules: MarketRules,
  page: ReadPage,
  wait: boolean,
  pipeline: PagePipeline | undefined,
): SentPage {
  const statement = (on: Database) => settlePage(on, rules, page.entries, page.epoch, wait, page.afterSeq);
  const sentAt = Date.now();
  pipeline?.pacing.sent(sentAt);
  const answer = (pipeline ? pipeline.line(statement) : statement(db)).then(
    (outcome): PageAnswer => {
      pipeline?.pacing.answered(sentAt, Date.now());
      return { outcome };
    },
    (err: unknown): PageAnswer =>
      isInvariantBreach(err) ? { outcome: { status: "fallback", reason: reasonOf(err) } } : { error: err },
  );
  return { ...page, answer };
}
