import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase, type Database } from "../../../src/db/client";
import { settlePage } from "../../../src/domain/settlement/settle-page";
import { heldMarket, matchPair } from "../trading/settlement-helpers";

/**
 * settle_page's `p_after_seq` (migration 0032): the page holds every entry after it, so a cursor
 * behind it would skip the entries in between for good. Refused as a `gap`, nothing written; a
 * cursor at or past it settles what is fresh, replays skipped, as without the argument.
 */

/** What a page could write for the market: its rows, its users' balances, its cursor. */
async function written(db: Database, market: string, users: string[]) {
  const { rows } = await db.execute<Record<string, unknown>>(sql`select
    (select count(*) from trades where market = ${market})::int as trades,
    (select count(*) from ledger_entries where reference like ${`${market}:%`})::int as journal,
    (select count(*) from event_pages where envelope->>'market' = ${market})::int as event_pages,
    (select json_agg(o order by o.id) from (select id, status, consumed_amount, released_amount,
      filled_quantity, filled_quote, updated_at from orders where market = ${market}) o) as orders,
    (select json_agg(b order by b.user_id, b.asset) from (select user_id, asset, available, locked, updated_at
      from balances where user_id = any(${`{${users.join(",")}}`}::uuid[])) b) as balances,
    (select json_agg(c) from (select last_seq, epoch, updated_at from settlement_cursors
      where market = ${market}) c) as cursor`);
  return rows[0]!;
}

describe("settle_page read after a sequence (p_after_seq)", () => {
  it("refuses a page whose start the cursor has not reached, writing nothing; settles it once the cursor has", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      await matchPair(order, seller, buyer);
      await matchPair(order, seller, buyer);
      const { entries, epoch } = await book.readOutbox(0, 100);
      const half = Math.floor(entries.length / 2);
      const [first, second] = [entries.slice(0, half), entries.slice(half)];
      const split = first[first.length - 1]!.seq;
      const settle = (page: typeof entries, afterSeq?: number) =>
        settlePage(db, rules, page, epoch ?? null, false, afterSeq);

      // The second half, read after the first: the cursor (none yet, 0) is behind it.
      const before = await written(db, market, [seller, buyer]);
      expect(await settle(second, split)).toEqual({ status: "gap", cursorSeq: 0 });
      // Only the market's cursor row is created, at 0, as any first call does.
      const { cursor: created, ...rest } = await written(db, market, [seller, buyer]);
      const { cursor: none, ...restBefore } = before;
      expect(none).toBeNull();
      expect(created).toMatchObject([{ last_seq: 0, epoch: null }]);
      expect(rest).toEqual(restBefore);

      // The first half settles; the second, sent again, now continues the cursor.
      expect(await settle(first, 0)).toMatchObject({ status: "ok", lastSeq: split, entries: half });
      const afterFirst = await written(db, market, [seller, buyer]);
      expect(await settle(second, split + 1)).toEqual({ status: "gap", cursorSeq: split });
      expect(await written(db, market, [seller, buyer])).toEqual(afterFirst);
      const last = second[second.length - 1]!.seq;
      expect(await settle(second, split)).toMatchObject({
        status: "ok",
        lastSeq: last,
        entries: second.length,
      });

      // At or past the cursor's start, entries it settled are skipped (a replay, a stale reader).
      const settled = await written(db, market, [seller, buyer]);
      expect(await settle(second, split)).toMatchObject({ status: "ok", lastSeq: last, entries: 0 });
      expect(await settle(entries, 0)).toMatchObject({ status: "ok", lastSeq: last, entries: 0 });
      expect(await settle(entries)).toMatchObject({ status: "ok", lastSeq: last, entries: 0 });
      expect(await written(db, market, [seller, buyer])).toEqual(settled);
      expect(settled).toMatchObject({ trades: 2 });
    });
  });

  it("answers a busy cursor before looking at the sequence", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      await matchPair(order, seller, buyer);
      const { entries, epoch } = await book.readOutbox(0, 100);
      expect(await settlePage(db, rules, entries.slice(0, 1), epoch ?? null, false, 0)).toMatchObject({
        status: "ok",
      });
      const held = entries.slice(2);
      await withDatabase(env, (other) =>
        other.transaction(async (tx) => {
          await tx.execute(sql`select 1 from settlement_cursors where market = ${market} for update`);
          expect(await settlePage(db, rules, held, epoch ?? null, false, entries[1]!.seq)).toEqual({
            status: "busy",
          });
        }),
      );
      expect(await settlePage(db, rules, held, epoch ?? null, false, entries[1]!.seq)).toEqual({
        status: "gap",
        cursorSeq: entries[0]!.seq,
      });
    });
  });
});
