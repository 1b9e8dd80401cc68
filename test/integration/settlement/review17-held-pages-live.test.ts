import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { HeldOutbox } from "../../../durable-objects/market/held-outbox";
import { readOutboxPages } from "../../../durable-objects/market/outbox";
import type { OrderBook } from "../../../durable-objects/order-book";
import { withDatabase } from "../../../src/db/client";
import { settlementQuarantine, trades } from "../../../src/db/schema";
import type { OutboxEntry } from "../../../src/domain/market/commands";
import type { ReadPages } from "../../../src/domain/settlement/settle-market";
import { orderBook } from "../../../src/services/trading/market-directory";
import { api } from "../auth/helpers";
import { restartObject } from "../market/restart-object";
import { pageStatement } from "../market/same-pages";
import { placed, settle, tradingFloor, type Trader } from "../trading/helpers";
import { ghostTrade, injectOutbox } from "../trading/settlement-helpers";

/**
 * review17: the market object's own settler, live, taking its pages from the entries it holds
 * since its flushes (durable-objects/market/held-outbox.ts). Beside it: cancels and a cron-like
 * settler (acknowledging over RPC, inside pages too), amendments and bug entries written to
 * storage only (pages left to the planner), a restart midway, and a bound on what is held. Every
 * page the settler reads is compared, at the moment it reads it, with what storage holds; every
 * held entry is frozen at its commit (anything changing one afterwards throws); and the money ends
 * exact: each fill once, the bug entries quarantined, every trader's funds where their orders say.
 */

type Log = (msg: string, fields?: Record<string, unknown>) => void;
type Inside = {
  held: HeldOutbox;
  settler: { source: { readPages: ReadPages }; log: { warn: Log; error: Log } };
  ctx: DurableObjectState;
};

/** Entries frozen once committed: settlement, fan-out or anything else must only read them. */
class FrozenHeld extends HeldOutbox {
  override committed(entries: readonly OutboxEntry[], epoch: string | undefined): void {
    for (const e of entries) Object.freeze(e);
    Object.freeze(entries);
    super.committed(entries, epoch);
  }
}

interface Watch {
  memory: number;
  storage: number;
  mismatches: string[];
  /** Rounds of the watched object that failed (a frozen entry changed throws there). */
  failures: string[];
}

/**
 * The object's reader checked against storage at each read; its held outbox frozen and bounded;
 * its failed rounds counted until the returned `unwatch` (before the object is reset on purpose).
 */
async function watch(market: string, bound: number, seen: Watch): Promise<() => void> {
  const watching = { on: true };
  await runInDurableObject(orderBook(env, market), (instance: OrderBook) => {
    const inside = instance as unknown as Inside;
    inside.held = new FrozenHeld(bound);
    // A failed round is retried, and a cron-like settler would drain the market anyway: counted here.
    const log = inside.settler.log;
    for (const level of ["warn", "error"] as const) {
      const write = log[level].bind(log);
      log[level] = (msg, fields) => {
        if (watching.on && /^settlement (failed|keeps failing|refused)/.test(msg))
          seen.failures.push(`${msg}: ${String(fields?.error_message)}`);
        write(msg, fields);
      };
    }
    const source = inside.settler.source;
    const reader = source.readPages;
    source.readPages = async (afterSeq, maxEntries) => {
      const stored = readOutboxPages(inside.ctx.storage.sql, afterSeq, maxEntries);
      const read = await reader(afterSeq, maxEntries);
      if (read === null || stored === null) {
        if ((read === null) !== (stored === null)) seen.mismatches.push(`null at ${afterSeq}`);
        return read;
      }
      seen[typeof read.pages === "string" ? "storage" : "memory"]++;
      const same =
        read.count === stored.count &&
        read.epoch === stored.epoch &&
        JSON.stringify(read.marks) === JSON.stringify(stored.marks) &&
        JSON.stringify(pageStatement(read, afterSeq)) === JSON.stringify(pageStatement(stored, afterSeq));
      if (!same) seen.mismatches.push(`page after ${afterSeq} (${maxEntries})`);
      return read;
    };
  });
  return () => (watching.on = false);
}

describe("review17: the object's settler taking held pages, live", () => {
  it.each([50_000, 9])(
    "reads what storage holds, changes no held entry, settles each fill once (bound %i)",
    async (bound) => {
      const floor = await tradingFloor({
        b1: { USDT: "5000" },
        b2: { USDT: "5000" },
        s1: { BTC: "1" },
        s2: { BTC: "1" },
      });
      const { market, b1, b2, s1, s2 } = floor;
      const seen: Watch = { memory: 0, storage: 0, mismatches: [], failures: [] };
      let unwatch = await watch(market, bound, seen);
      // Resting far from the fills: the amendments' and cancels' targets.
      const far = async (t: Trader, side: "buy" | "sell", price: string) =>
        (await placed(t, { market, side, type: "limit", price, quantity: "0.002" })).order.id!;
      const resting = [await far(b1, "buy", "40000.00"), await far(s1, "sell", "60000.00")];
      const cancellable: [Trader, string][] = [];
      const ghosts: number[] = [];
      const fill = async (seller: Trader, buyer: Trader) => {
        await placed(seller, { market, side: "sell", type: "limit", price: "50000.00", quantity: "0.001" });
        await placed(buyer, { market, side: "buy", type: "limit", price: "50000.00", quantity: "0.001" });
      };
      for (let wave = 0; wave < 8; wave++) {
        if (wave === 4) {
          // Evicted midway (nothing in flight but the settler's round): memory gone, storage kept.
          unwatch();
          await restartObject(orderBook(env, market));
          unwatch = await watch(market, bound, seen);
        }
        cancellable.push([b2, await far(b2, "buy", `${41000 + wave}.00`)]);
        const [owner, id] = cancellable.shift()!;
        const work: Promise<unknown>[] = [
          fill(s1, b1),
          fill(s2, b2),
          fill(s1, b2),
          fill(s2, b1),
          // A cancel settles in its request (waiting for the cursor), acknowledging over RPC.
          api("DELETE", `/api/v1/orders/${id}`, { token: owner.token }).then((res) =>
            expect(res.status).toBe(200),
          ),
          // An amendment: its page goes to the planner.
          api("PATCH", `/api/v1/orders/${resting[wave % 2]}`, {
            token: (wave % 2 ? s1 : b1).token,
            body: { price: wave % 2 ? `${60000 + wave}.00` : `${40000 + wave}.00` },
          }).then((res) => expect(res.status).toBe(200)),
        ];
        if (wave % 3 === 1) {
          // A bug's entry, written to storage only (memory never saw it): quarantined by the planner.
          work.push(
            injectOutbox(market, [ghostTrade(market, s1.id, b1.id, wave)]).then((seqs) =>
              ghosts.push(...seqs),
            ),
          );
        }
        if (wave % 2 === 0) work.push(settle(market));
        await Promise.all(work);
      }
      // Drained by the object's settler (and a last cron-like pass).
      for (let i = 0; i < 100; i++) {
        await settle(market);
        if ((await orderBook(env, market).readOutbox(0, 10)).entries.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await orderBook(env, market).readOutbox(0, 10)).entries).toEqual([]);
      expect(seen.mismatches).toEqual([]);
      expect(seen.failures).toEqual([]);
      // The memory path was taken (with the large bound), and storage's where memory lacked pages.
      if (bound > 1_000) expect(seen.memory).toBeGreaterThan(0);
      expect(seen.storage).toBeGreaterThan(0);
      // Each of the book's trades settled once (the bug entries are not trades of Postgres).
      const booked = await orderBook(env, market).trades(1000);
      const settled = await withDatabase(env, (db) =>
        db.select().from(trades).where(eq(trades.market, market)),
      );
      expect(booked).toHaveLength(32);
      expect(settled).toHaveLength(booked.length);
      const quarantined = await withDatabase(env, (db) =>
        db.select().from(settlementQuarantine).where(eq(settlementQuarantine.market, market)),
      );
      expect(quarantined.map((q) => Number(q.seq)).sort((a, b) => a - b)).toEqual(
        ghosts.sort((a, b) => a - b),
      );
      await floor.expectBalanced();
    },
    120_000,
  );
});
