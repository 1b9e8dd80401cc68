import { sql, type SQL } from "drizzle-orm";
import { arrayLiteral, type Cell } from "../../db/array-literal";
import type { DbExecutor } from "../../db/client";
import type { BalanceAfter } from "../ledger/ledger";
import type { MarketRules } from "../market/market-rules";
import type { OutboxEntry } from "./plan";

/**
 * A market's stored outbox pages, handed over as stored (the object writes one page per flush,
 * durable-objects/market/outbox.ts) and joined by SQLite: settling parses them once, in one
 * `JSON.parse`, into `settle_page`'s column arrays.
 */
export interface OutboxPages {
  /**
   * ONE JSON array of the pages' entries (the stored pages' texts joined; pages not necessarily
   * in order), parsed once (`entriesOf`); or the entries themselves, as the object still holds
   * them from its flushes (durable-objects/market/held-outbox.ts).
   */
  pages: string | readonly OutboxEntry[];
  /** Entries in the pages (those at or below the reader's sequence in the first one included). */
  count: number;
  /** The epoch every page was written under. */
  epoch: string;
  /** Per page, its last sequence and first match time (the object's lag metric). */
  marks: { seq: number; ts: number }[];
  /** The highest outbox sequence the object has issued. */
  lastSeq?: number;
}

/**
 * What `settle_page` (migrations/0013_settle_page.sql, now 0032) answers. `gap`: the page was
 * read after a sequence the cursor has not reached (it wrote nothing).
 */
export type PageOutcome =
  | { status: "ok"; lastSeq: number; entries: number; trades: number; balances: BalanceAfter[] }
  | { status: "busy" }
  | { status: "fallback"; reason: string }
  | { status: "epoch"; cursorEpoch: string }
  | { status: "gap"; cursorSeq: number };

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
  | { status: "epoch"; cursor_epoch: string }
  | { status: "gap"; cursor_seq: number };

type Entry = Partial<Record<string, Cell>>;

/** `settle_page`'s arrays (after `e_`), one per field of `settle_entry`: name, type, entry field. */
const ENTRY_FIELDS: readonly [string, string, string][] = [
  ["seq", "bigint", "seq"],
  ["kind", "text", "kind"],
  ["ts", "bigint", "ts"],
  ["event", "text", "event"],
  ["order_id", "uuid", "orderId"],
  ["status", "text", "status"],
  ["reason", "text", "reason"],
  ["trade_id", "text", "tradeId"],
  ["price", "text", "price"],
  ["quantity", "text", "quantity"],
  ["price_minor", "numeric", "priceMinor"],
  ["quantity_minor", "numeric", "quantityMinor"],
  ["taker_side", "text", "takerSide"],
  ["taker_order_id", "uuid", "takerOrderId"],
  ["maker_order_id", "uuid", "makerOrderId"],
  ["maker_fee_bps", "integer", "makerFeeBps"],
  ["taker_fee_bps", "integer", "takerFeeBps"],
];

/**
 * The `settle_page` call for `entries` (migrations/0024_settle_page_columns.sql, body 0032): one typed
 * array per field of the entries, which Postgres parses for a fraction of what parsing them as
 * JSON cost it; the answer is its one column, `r`. `afterSeq`: the sequence the entries were
 * read after (they hold every entry after it up to their last); a cursor behind it is a `gap`.
 */
export function settlePageCall(
  rules: Pick<MarketRules, "symbol" | "baseAsset" | "quoteAsset" | "baseDecimals">,
  entries: readonly OutboxEntry[],
  epoch: string | null,
  wait: boolean,
  afterSeq?: number,
): SQL {
  const columns = ENTRY_FIELDS.map(() => new Array<Cell>(entries.length));
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as unknown as Entry;
    for (let k = 0; k < ENTRY_FIELDS.length; k++) columns[k]![i] = e[ENTRY_FIELDS[k]![2]];
  }
  const arrays = sql.join(
    ENTRY_FIELDS.map(
      ([name, type], k) => sql`${sql.raw(`e_${name}`)} => ${arrayLiteral(columns[k]!)}::${sql.raw(type)}[]`,
    ),
    sql`, `,
  );
  const after = afterSeq === undefined ? sql`` : sql`, p_after_seq => ${afterSeq}::bigint`;
  return sql`select settle_page(p_market => ${rules.symbol}, p_epoch => ${epoch}::text,
    p_base_asset => ${rules.baseAsset}, p_quote_asset => ${rules.quoteAsset},
    p_base_decimals => ${rules.baseDecimals}::int, p_wait => ${wait}, ${arrays}${after}) as r`;
}

/**
 * Settles a page of entries in ONE statement and round trip (no BEGIN/COMMIT): Postgres
 * locks the cursor and the orders, plans and writes everything `applySettlementBatch` would,
 * and answers a few numbers and the balance rows it left. `fallback`: the page holds something
 * the function leaves to the TypeScript planner (it wrote nothing).
 */
export async function settlePage(
  db: DbExecutor,
  rules: MarketRules,
  entries: readonly OutboxEntry[],
  epoch: string | null,
  wait: boolean,
  afterSeq?: number,
): Promise<PageOutcome> {
  const result = await db.execute<{ r: string }>(settlePageCall(rules, entries, epoch, wait, afterSeq));
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
    case "gap":
      return { status: "gap", cursorSeq: Number(raw.cursor_seq) };
    default:
      return raw;
  }
}

/** The entries of stored pages, parsed once (in no particular order); never changed after. */
export function entriesOf(pages: OutboxPages): readonly OutboxEntry[] {
  return typeof pages.pages === "string" ? (JSON.parse(pages.pages) as OutboxEntry[]) : pages.pages;
}

/** Entries in sequence order, each with the pages' epoch (the fallback path). */
export function withEpoch(entries: readonly OutboxEntry[], epoch: string): OutboxEntry[] {
  return entries.map((e) => ({ ...e, epoch })).sort((a, b) => a.seq - b.seq);
}

/** The epoch of parsed entries (RPC readers): the first one they name. */
export function epochOfEntries(entries: readonly OutboxEntry[]): string | null {
  return entries.find((e) => e.epoch !== undefined)?.epoch ?? null;
}
