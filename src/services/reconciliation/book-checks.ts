import { sql } from "drizzle-orm";
import type { OutboxEntry } from "../../domain/market/commands";
import type { DbExecutor } from "../../db/client";
import { PENDING_GRACE_MS } from "../trading/reconcile-orders";
import { CLOSED_ORDER, MAX_ROWS, OPEN_ORDER, type Row } from "./shared";

/**
 * The order books against Postgres: the orders a market's book holds must be the orders open
 * in Postgres for that market. The book's side comes from the caller (the market object's
 * RPC), read BEFORE the Postgres snapshot is taken, which makes the races one-sided:
 * - an order is inserted in Postgres before the book sees it, so a live order must have a row;
 *   only one placed around the read (in flight, or still `pending` for the recovery job) may be
 *   open in Postgres and not yet in the book: orders created less than `BOOK_RACE_MS` before
 *   the read are skipped;
 * - a book closes an order first and settlement closes the row later: until then the order is
 *   named by an unsettled outbox entry, and such ids are skipped both ways; one that closed and
 *   settled after the read is skipped by its `closed_at` (the book's time).
 * A true mismatch persists, so skipping a window only delays its report to the next run.
 */

/** What the caller learnt from one market's book. */
export interface BookReport {
  /** Every order the book holds: resting, or waiting for its stop (both legs of an OCO). */
  liveOrderIds: Iterable<string>;
  /** Orders named by outbox entries the book has not seen settled (see `orderIdsInOutbox`). */
  unsettledOrderIds: Iterable<string>;
}

export interface BookView extends BookReport {
  market: string;
  /** When the book was read (just before): what changed in Postgres near then may have raced it. */
  readAt: Date;
}

/** How one market's book is read (e.g. over the market object's RPC). */
export type ReadBook = (market: string) => Promise<BookReport>;

export type BookMismatch =
  | { kind: "order_not_in_book"; market: string; orderId: string; status: string }
  | {
      kind: "book_order_not_open";
      market: string;
      orderId: string;
      /** The row's status and market in Postgres; null: Postgres has no such order. */
      status: string | null;
      pgMarket: string | null;
    }
  | { kind: "book_unreadable"; market: string; error: string };

/** The recovery job's grace for a placement still on its way to the book. */
export const BOOK_RACE_MS = PENDING_GRACE_MS;

/** The order ids a batch of outbox entries names (both sides of a trade). */
export function orderIdsInOutbox(entries: readonly OutboxEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const e of entries) {
    if (e.kind === "trade") {
      ids.add(e.takerOrderId);
      ids.add(e.makerOrderId);
    } else {
      ids.add(e.orderId);
    }
  }
  return ids;
}

/** Reads every market's book, each stamped with the time of its read; a failing book is reported. */
export async function readBooks(
  db: DbExecutor,
  readBook: ReadBook,
): Promise<{ views: BookView[]; unreadable: BookMismatch[] }> {
  const markets = await db.execute(sql`select symbol from markets order by symbol`);
  const views: BookView[] = [];
  const unreadable: BookMismatch[] = [];
  await Promise.all(
    (markets.rows as Row[]).map(async (r) => {
      const market = String(r.symbol);
      const readAt = new Date();
      try {
        views.push({ market, readAt, ...(await readBook(market)) });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        unreadable.push({ kind: "book_unreadable", market, error });
      }
    }),
  );
  return { views, unreadable };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const notOpen = (market: string, orderId: string, status: unknown, pgMarket: unknown): BookMismatch => ({
  kind: "book_order_not_open",
  market,
  orderId,
  status: status === null ? null : String(status),
  pgMarket: pgMarket === null ? null : String(pgMarket),
});

/** Compares each view with the orders of its market, with the caller's transaction (its snapshot). */
export async function checkBooks(tx: DbExecutor, views: readonly BookView[]): Promise<BookMismatch[]> {
  const found: BookMismatch[] = [];
  for (const view of views) found.push(...(await compareBook(tx, view)));
  // Capped per kind over all markets, as the other checks are.
  const kind = (k: BookMismatch["kind"]) => found.filter((m) => m.kind === k).slice(0, MAX_ROWS);
  return [...kind("order_not_in_book"), ...kind("book_order_not_open")];
}

async function compareBook(tx: DbExecutor, view: BookView): Promise<BookMismatch[]> {
  const { market } = view;
  const found: BookMismatch[] = [];
  const live = new Set<string>();
  for (const id of view.liveOrderIds) {
    // Postgres ids are UUIDs: a live id that is not one cannot be an order there.
    if (UUID.test(id)) live.add(id);
    else found.push(notOpen(market, id, null, null));
  }
  const unsettled = [...view.unsettledOrderIds].filter((id) => UUID.test(id));
  const ids = (list: Iterable<string>) => sql`(
        select value::uuid as id from jsonb_array_elements_text(${JSON.stringify([...list])}::jsonb))`;
  const cutoff = new Date(view.readAt.getTime() - BOOK_RACE_MS).toISOString();
  const rows = await tx.execute(sql`
        with live as ${ids(live)}, unsettled as ${ids(unsettled)}
        (select 'order_not_in_book' as kind, o.id::text as id, o.status::text as status, o.market
         from orders o
         where o.market = ${market} and o.status in ${OPEN_ORDER}
           and o.created_at < ${cutoff}::timestamptz
           and not exists (select 1 from live l where l.id = o.id)
           and not exists (select 1 from unsettled u where u.id = o.id)
         order by o.id limit ${MAX_ROWS})
        union all
        (select 'book_order_not_open', l.id::text, o.status::text, o.market
         from live l left join orders o on o.id = l.id
         where not exists (select 1 from unsettled u where u.id = l.id)
           and (o.id is null or o.market <> ${market}
             or (o.status in ${CLOSED_ORDER} and coalesce(o.closed_at, o.updated_at) < ${cutoff}::timestamptz))
         order by l.id limit ${MAX_ROWS})`);
  for (const r of rows.rows as Row[]) {
    found.push(
      r.kind === "order_not_in_book"
        ? { kind: "order_not_in_book", market, orderId: String(r.id), status: String(r.status) }
        : notOpen(market, String(r.id), r.status, r.market),
    );
  }
  return found;
}
