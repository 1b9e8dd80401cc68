import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import type { Database } from "../../../src/db/client";
import { settlementCursors, settlementQuarantine, trades } from "../../../src/db/schema";
import type { Principal } from "../../../src/http/principal";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { loadMarketRules, orderBook } from "../../../src/services/trading/market-directory";
import type { PlaceOrderRequest } from "../../../src/domain/market/placement";
import { placeOrder } from "../../../src/services/trading/place-order";
import type { OutboxEntry } from "../../../src/domain/settlement/plan";
import type { Market } from "../../../durable-objects/market/market";
import { appendOutbox } from "../../../durable-objects/market/outbox";
import { writeMeta } from "../../../durable-objects/market/schema";
import type { OrderBook } from "../../../durable-objects/order-book";
import { createTestUser, fund } from "../wallets/fixtures";
import { balanceOf, createMarket } from "./helpers";

export const principal = (userId: string): Principal => ({
  userId,
  role: "user",
  kycStatus: "verified",
  emailVerified: true,
  via: "session",
  permissions: ["read", "trade", "withdraw"],
});

/**
 * A market whose object does not settle by itself (the test decides when; `hold` false: it
 * does), and two funded users.
 */
export async function heldMarket(db: Database, hold = true) {
  const market = await createMarket();
  if (hold) await orderBook(env, market).setSelfSettling(false);
  const seller = await createTestUser();
  const buyer = await createTestUser();
  await fund(db, seller, "BTC", 10_000_000n); // 0.1 BTC
  await fund(db, buyer, "USDT", 10_000_000_000n); // 10,000 USDT
  const order = (userId: string, req: Omit<PlaceOrderRequest, "market">) =>
    placeOrder(db, env, principal(userId), { market, ...req }, SYSTEM_METADATA);
  const rules = await loadMarketRules(db, market, true);
  return { market, seller, buyer, order, rules, book: orderBook(env, market) };
}

/** A sell and a buy of `quantity` at 50,000 that fill each other completely. */
export async function matchPair(
  order: Awaited<ReturnType<typeof heldMarket>>["order"],
  seller: string,
  buyer: string,
  quantity = "0.01",
) {
  await order(seller, { side: "sell", type: "limit", price: "50000.00", quantity });
  const taken = await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity });
  expect(taken.fills).toHaveLength(1);
}

/**
 * `fills` of `matchPair`'s default size each settled exactly once, as `heldMarket` funded the two:
 * 0.01 BTC at 50,000 a fill, the seller the maker (0.1 % of the USDT), the buyer the taker (0.2 %
 * of the BTC).
 */
export async function expectPairsSettled(seller: string, buyer: string, fills: number) {
  const n = BigInt(fills);
  expect(await balanceOf(seller, "USDT")).toEqual({ available: 499_500_000n * n, locked: 0n });
  expect(await balanceOf(seller, "BTC")).toEqual({ available: 10_000_000n - 1_000_000n * n, locked: 0n });
  expect(await balanceOf(buyer, "USDT")).toEqual({
    available: 10_000_000_000n - 500_000_000n * n,
    locked: 0n,
  });
  expect(await balanceOf(buyer, "BTC")).toEqual({ available: 998_000n * n, locked: 0n });
}

/**
 * The market settled to the end: `fills` pairs each settled exactly once (`expectPairsSettled`),
 * exactly the ghost entries quarantined, nothing left in the outbox, the cursor at its end.
 */
export async function expectSettledOnce(
  db: Database,
  setup: Awaited<ReturnType<typeof heldMarket>>,
  fills: number,
  ghostSeqs: number[],
) {
  const { market, seller, buyer, book } = setup;
  await expectPairsSettled(seller, buyer, fills);
  expect(await db.select().from(trades).where(eq(trades.market, market))).toHaveLength(fills);
  const held = await db.select().from(settlementQuarantine).where(eq(settlementQuarantine.market, market));
  expect(held.map((q) => Number(q.seq)).sort((a, b) => a - b)).toEqual(ghostSeqs);
  const read = await book.readOutbox(0, 10);
  expect(read.entries).toEqual([]);
  const [cursor] = await db.select().from(settlementCursors).where(eq(settlementCursors.market, market));
  expect(cursor!.lastSeq).toBe(read.lastSeq);
}

/** An outbox entry before the object numbers it. */
export type Unnumbered = {
  [K in OutboxEntry["kind"]]: Omit<Extract<OutboxEntry, { kind: K }>, "seq">;
}[OutboxEntry["kind"]];

/**
 * Writes entries into the object's outbox as its own code would (next sequence numbers, the
 * storage's epoch, counters in the same transaction): how a bug's entry would look.
 */
export async function injectOutbox(market: string, entries: Unnumbered[]): Promise<number[]> {
  return runInDurableObject(orderBook(env, market), (instance: OrderBook, state) => {
    const m = (instance as unknown as { market: Market }).market;
    const seqs: number[] = [];
    state.storage.transactionSync(() => {
      for (const e of entries) {
        const seq = ++m.counters.outboxSeq;
        appendOutbox(state.storage.sql, [{ ...e, seq } as OutboxEntry], m.counters.epoch);
        seqs.push(seq);
      }
      writeMeta(state.storage.sql, "counters", m.counters);
    });
    return seqs;
  });
}

/**
 * A bug's entry: a trade (0.01 BTC at 50,000) naming an order Postgres never had, numbered `n`
 * among the market's trade ids. settle_page leaves its page to the planner, which quarantines it.
 */
export const ghostTrade = (
  market: string,
  seller: string,
  buyer: string,
  n: number,
): Extract<Unnumbered, { kind: "trade" }> => {
  const ghost = crypto.randomUUID();
  return {
    kind: "trade",
    ts: Date.now(),
    tradeId: `${market}:ghost-${n}`,
    market,
    price: "50000.00",
    quantity: "0.01000",
    priceMinor: "50000000000",
    quantityMinor: "1000000",
    takerSide: "buy",
    takerOrderId: ghost,
    takerUserId: buyer,
    makerOrderId: ghost,
    makerUserId: seller,
    makerFeeBps: 10,
    takerFeeBps: 20,
  };
};

/**
 * A held market with `fills` matched pairs, a ghost trade (the planner quarantines it) injected
 * before each fill whose index is in `ghosts`; the ghosts' sequences.
 */
export async function marketWithGhosts(db: Database, fills: number, ghosts: readonly number[]) {
  const setup = await heldMarket(db);
  const { market, seller, buyer, order } = setup;
  const ghostSeqs: number[] = [];
  for (let i = 0; i < fills; i++) {
    if (ghosts.includes(i))
      ghostSeqs.push(...(await injectOutbox(market, [ghostTrade(market, seller, buyer, i)])));
    await matchPair(order, seller, buyer);
  }
  return { ...setup, ghostSeqs };
}

/** The object's storage epoch as its counters hold it. */
export async function epochOf(market: string): Promise<string> {
  return runInDurableObject(
    orderBook(env, market),
    (instance: OrderBook) => (instance as unknown as { market: Market }).market.counters.epoch!,
  );
}
