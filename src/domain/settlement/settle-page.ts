import { sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import type { BalanceAfter } from "../ledger/ledger";
import type { MarketRules } from "../market/market-rules";
import type { OutboxEntry } from "./plan";

/**
 * A market's stored outbox pages, handed over as stored (the object writes one page per flush,
 * durable-objects/market/outbox.ts), so settling them parses nothing on the object's thread.
 */
export interface OutboxPages {
  /**
   * ONE JSON array of the pages' entries (the stored pages' texts joined; pages not necessarily
   * in order): what `settle_page` parses, once.
   */
  pages: string;
  /** Entries in the pages (those at or below the reader's sequence in the first one included). */
  count: number;
  /** The epoch every page was written under. */
  epoch: string;
  /** Per page, its last sequence and first match time (the object's lag metric). */
  marks: { seq: number; ts: number }[];
  /** The highest outbox sequence the object has issued. */
  lastSeq?: number;
}

/** What `settle_page` (migrations/0013_settle_page.sql, now 0018) answers. */
export type PageOutcome =
  | { status: "ok"; lastSeq: number; entries: number; trades: number; balances: BalanceAfter[] }
  | { status: "busy" }
  | { status: "fallback"; reason: string }
  | { status: "epoch"; cursorEpoch: string };

type RawOutcome =
  | {
      status: "ok";
      last_seq: number;
      entries: number;
      trades: number;
      balances: { user_id: string; asset: string; available: string; locked: string; version: string }[];
    }
  | { status: "busy" }
  | { status: "fallback"; reason: string }
  | { status: "epoch"; cursor_epoch: string };

/**
 * Settles a page of entries in ONE statement and round trip (no BEGIN/COMMIT): Postgres
 * locks the cursor and the orders, plans and writes everything `applySettlementBatch` would,
 * and answers a few numbers and the balance rows it left. `fallback`: the page holds something
 * the function leaves to the TypeScript planner (it wrote nothing).
 */
export async function settlePage(
  db: DbExecutor,
  rules: MarketRules,
  pages: string,
  epoch: string | null,
  wait: boolean,
): Promise<PageOutcome> {
  const result = await db.execute<{ r: string }>(
    sql`select settle_page(${rules.symbol}, ${epoch}::text, ${pages}::json, ${rules.baseAsset},
      ${rules.quoteAsset}, ${rules.baseDecimals}::int, ${wait}) as r`,
  );
  const raw = JSON.parse(result.rows[0]!.r) as RawOutcome;
  switch (raw.status) {
    case "ok":
      return {
        status: "ok",
        lastSeq: Number(raw.last_seq),
        entries: raw.entries,
        trades: raw.trades,
        balances: raw.balances.map((b) => ({
          userId: b.user_id,
          asset: b.asset,
          available: BigInt(b.available),
          locked: BigInt(b.locked),
          version: BigInt(b.version),
        })),
      };
    case "epoch":
      return { status: "epoch", cursorEpoch: raw.cursor_epoch };
    default:
      return raw;
  }
}

/** The entries of stored pages in sequence order, each with the pages' epoch (the fallback path). */
export function entriesOfPages(pages: OutboxPages): OutboxEntry[] {
  return (JSON.parse(pages.pages) as OutboxEntry[])
    .map((e) => ({ ...e, epoch: pages.epoch }))
    .sort((a, b) => a.seq - b.seq);
}

/** Parsed entries as one page (RPC readers), under the first epoch they name. */
export function pagesOfEntries(entries: readonly OutboxEntry[]): { pages: string; epoch: string | null } {
  return {
    pages: JSON.stringify(entries),
    epoch: entries.find((e) => e.epoch !== undefined)?.epoch ?? null,
  };
}
