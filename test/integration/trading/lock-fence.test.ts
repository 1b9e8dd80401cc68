import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Database, withDatabase } from "../../../src/db/client";
import { lockStatement } from "../../../durable-objects/market/funds-locker";
import { lockStatement0026 } from "../../../bench/trading/place-orders-0026";
import type { PlaceCommand, PlacementFunding } from "../../../src/domain/market/commands";
import { preparePlacement } from "../../../src/domain/market/placement";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { loadMarketRules } from "../../../src/services/trading/market-directory";
import { createMarket, trader } from "./helpers";
import { principal } from "./settlement-helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Raised {
  epoch: number;
  mark: number;
  orders: { order_id: string; user_id: string }[];
}

const raise = (market: string, after: number | null) =>
  withDatabase(env, async (db) => {
    const result = await db.execute<{ r: Raised }>(
      sql`select raise_lock_fence(${market}, ${after}::bigint) as r`,
    );
    return result.rows[0]!.r;
  });

type Db = Pick<Database, "execute">;

/**
 * A funds lock that passes the fence, run on `db`; resolves to the mark it passed with. The
 * market object now sends `lockStatement` (place_orders passes the fence itself, migrations/0027);
 * the serving release still sends 0026's place_orders (the same fence, the answer of before).
 * Both must hold the fence row until their transaction ends.
 */
const LOCKS: {
  name: string;
  lock: (db: Db, funding: PlacementFunding | undefined, market: string, epoch: number) => Promise<number>;
}[] = [
  {
    name: "lockStatement (0027, what the market object sends)",
    lock: async (db, funding, market, epoch) => {
      const result = await db.execute<{ r: { mark: number | string } }>(
        lockStatement([funding!], { market, epoch }),
      );
      return Number(result.rows[0]!.r.mark);
    },
  },
  {
    name: "0026's place_orders (the serving release)",
    lock: async (db, funding, market, epoch) => {
      const result = await db.execute<{ r: { mark: number | string } }>(
        lockStatement0026([funding!], { market, epoch }),
      );
      return Number(result.rows[0]!.r.mark);
    },
  },
];

describe.each(LOCKS)("the market's lock fence (migrations/0022), locked by $name", ({ lock }) => {
  it("a raise waits for a lock that passed the fence, reads what it left, and refuses every later lock of the old epoch", async () => {
    const market = await createMarket();
    const buyer = await trader({ USDT: "1000" });
    const rules = await withDatabase(env, (db) => loadMarketRules(db, market, true));
    const placement = (quantity: string) =>
      preparePlacement(
        rules,
        principal(buyer.id),
        { market, side: "buy", type: "limit", price: "50000.00", quantity },
        SYSTEM_METADATA,
      ).command as PlaceCommand;
    const first = await raise(market, null);
    expect(first.orders).toEqual([]);

    // A lock of the first epoch passed the fence; its transaction has not committed yet.
    const order = placement("0.01");
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let passed = false;
    const locking = withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        const mark = await lock(tx, order.funding, market, first.epoch);
        passed = true;
        await held;
        return mark;
      }),
    );
    await expect.poll(() => passed, { timeout: 5_000 }).toBe(true);

    // The next incarnation raises the fence: it waits until that lock is over, then sees its order.
    let raised: Raised | undefined;
    const raising = raise(market, first.mark).then((r) => (raised = r));
    await sleep(300);
    expect(raised).toBeUndefined();
    commit();
    const mark = await locking;
    expect(mark).toBeGreaterThan(first.mark);
    await raising;
    expect(raised!.epoch).toBe(first.epoch + 1);
    expect(raised!.orders).toEqual([{ order_id: order.orderId, user_id: buyer.id }]);
    expect(raised!.mark).toBeGreaterThan(mark);

    // A lock of the old epoch that reaches Postgres now is refused whole: nothing recorded.
    const late = placement("0.02");
    await expect(withDatabase(env, (db) => lock(db, late.funding, market, first.epoch))).rejects.toThrow();
    const recorded = await withDatabase(env, (db) =>
      db.execute<{ n: number }>(sql`select count(*)::int as n from orders where id = ${late.orderId}::uuid`),
    );
    expect(recorded.rows[0]!.n).toBe(0);

    // The new epoch locks; a raise above the last mark finds nothing of what was already read.
    const next = placement("0.005");
    await withDatabase(env, (db) => lock(db, next.funding, market, raised!.epoch));
    const again = await raise(market, raised!.mark);
    expect(again.orders).toEqual([{ order_id: next.orderId, user_id: buyer.id }]);
    expect((await raise(market, again.mark)).orders).toEqual([]);
  });
});
