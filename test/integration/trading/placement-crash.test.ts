import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { OrderIntake } from "../../../durable-objects/market/order-intake";
import type { OrderBook } from "../../../durable-objects/order-book";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import type { CommandResult, PlaceCommand } from "../../../src/domain/market/commands";
import { toBookRules } from "../../../src/domain/market/market-rules";
import { preparePlacement, type PlaceOrderRequest } from "../../../src/domain/market/placement";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { derivedUuid } from "../../../src/lib/derived-id";
import {
  configureOrderBook,
  loadMarketRules,
  orderBook,
} from "../../../src/services/trading/market-directory";
import {
  balanceOf,
  createMarket,
  holdingBalanceRow,
  placeOrder,
  reservedByOpenOrders,
  settle,
  trader,
  USDT,
  type Trader,
} from "./helpers";
import { principal } from "./settlement-helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ends the object as a crash or redeploy would: the next call builds it anew from storage. */
async function restart(market: string): Promise<void> {
  await runInDurableObject(orderBook(env, market), (_instance, state) => {
    try {
      state.abort("test restart");
    } catch {}
  }).catch(() => {});
}

/** A REST retry under `key` is answered with the id's first result: rejected, never booked. */
async function expectRetryNotBooked(buyer: Trader, body: Record<string, unknown>, key: string, id: string) {
  const res = await placeOrder(buyer, body, { "idempotency-key": key });
  const json = (await res.json()) as { error: { code: string; details?: Record<string, string> } };
  expect(res.status, JSON.stringify(json)).toBe(422);
  expect(json.error).toMatchObject({
    code: "ORDER_REJECTED",
    details: { reason: "NOT_BOOKED", order_id: id },
  });
}

const postgresRow = async (id: string) =>
  (await withDatabase(env, (db) => db.select().from(orders).where(eq(orders.id, id))))[0];

describe("the market object's crash path", () => {
  it("an order id in two back-to-back flushes: the retry's lock, out when the object dies, is released", async () => {
    const market = await createMarket();
    const buyer = await trader({ USDT: "1000" });
    const rules = await withDatabase(env, (db) => loadMarketRules(db, market, true));
    await configureOrderBook(env, toBookRules(rules));
    const id = crypto.randomUUID();
    // The first try is refused for its funds; the retry under the same id (funds freed
    // meanwhile, here: a smaller order) is locked. Both reach the object back to back.
    const attempt = (quantity: string) =>
      preparePlacement(
        rules,
        principal(buyer.id),
        { market, side: "buy", type: "limit", price: "50000.00", quantity },
        SYSTEM_METADATA,
        id,
      ).command as PlaceCommand;
    let first: CommandResult | undefined;
    await runInDurableObject(orderBook(env, market), async (instance: OrderBook, state) => {
      const intake = (instance as unknown as { intake: OrderIntake }).intake;
      const one = intake.submit([attempt("1")]);
      // The first group's lock is on its way to Postgres: the retry forms the next group.
      await Promise.resolve();
      await Promise.resolve();
      void intake.submit([attempt("0.01")]).catch(() => {});
      [first] = await one;
      // The first group ran; the retry's group has its lock out (it left before the first group
      // ran, see order-intake.ts) and has not run.
      state.abort("crash before the retry's group runs");
    }).catch(() => {});
    expect(first).toMatchObject({ ok: false, code: "INSUFFICIENT_FUNDS" });

    // The restarted object raises its lock fence and finds the retry's order locked in Postgres
    // and unknown to its journal (if the lock committed at all): released for good.
    await expect
      .poll(async () => {
        await settle(market);
        const row = await postgresRow(id);
        return row === undefined || row.status === "rejected";
      })
      .toBe(true);
    // Not live in the book: abandoned if its lock committed, unknown if the lock never left.
    expect((await orderBook(env, market).getOrder({ orderId: id })).live ?? null).toBeNull();
    expect((await balanceOf(buyer.id, "USDT")).locked).toBe(await reservedByOpenOrders(buyer.id, "USDT"));
    expect((await balanceOf(buyer.id, "USDT")).locked).toBe(0n);
  });

  it("a lock still waiting in Postgres when the object dies, committing after the next incarnation started, is released, and its id answers NOT_BOOKED", async () => {
    const market = await createMarket();
    const buyer = await trader({ USDT: "1000" });
    const rules = await withDatabase(env, (db) => loadMarketRules(db, market, true));
    await configureOrderBook(env, toBookRules(rules));
    const key = `in-flight-${crypto.randomUUID()}`;
    const id = derivedUuid("order", buyer.id, key, "0");
    const body = { market, side: "buy", type: "limit", price: "50000.00", quantity: "0.01" } as const;
    const command = preparePlacement(rules, principal(buyer.id), body, SYSTEM_METADATA, id).command;
    const started: string[] = [];
    // Another connection holds the buyer's balance row: the placement's lock passes the fence,
    // then waits on the row inside place_orders (well within its 3 s lock_timeout).
    await holdingBalanceRow(buyer.id, "USDT", async () => {
      await runInDurableObject(orderBook(env, market), async (instance: OrderBook, state) => {
        const intake = (instance as unknown as { intake: OrderIntake }).intake;
        void intake.submit([command]).catch(() => {});
        await sleep(500);
        state.abort("crash with a funds lock in flight");
      }).catch(() => {});
      // The next incarnation starts; its start-up raise of the fence waits for that lock.
      void orderBook(env, market)
        .sequence()
        .then(() => started.push("started"));
      await sleep(500);
    });
    // The row is free: the old incarnation's lock commits now, then the raise reads it.
    await expect.poll(() => started).toEqual(["started"]);
    await expect
      .poll(
        async () => {
          await settle(market);
          return (await postgresRow(id))?.status;
        },
        { timeout: 10_000 },
      )
      .toBe("rejected");
    expect((await orderBook(env, market).getOrder({ orderId: id })).live).toBeNull();
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("1000"), locked: 0n });

    // Idempotent retries get the id's first result: refused as never booked, over REST and batch.
    await expectRetryNotBooked(buyer, body, key, id);
    const again = await orderBook(env, market).placeBatch([command]);
    expect(again[0]).toMatchObject({ ok: false, code: "NOT_BOOKED", duplicate: true });
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("1000"), locked: 0n });
  });

  it("a retry of a placement the object recovered as rejected is refused, never locked or booked again", async () => {
    const market = await createMarket();
    const buyer = await trader({ USDT: "1000" });
    const seller = await trader({ BTC: "1" });
    const rules = await withDatabase(env, (db) => loadMarketRules(db, market, true));
    await configureOrderBook(env, toBookRules(rules));
    const key = `crash-${crypto.randomUUID()}`;
    const id = derivedUuid("order", buyer.id, key, "0");
    // The first attempt was noted and its lock sent when the object died: no result anywhere.
    await runInDurableObject(orderBook(env, market), (_instance, state) => {
      state.storage.sql.exec("INSERT INTO in_flight (order_id, user_id) VALUES (?, ?)", id, buyer.id);
    });
    await restart(market);

    const body = { market, side: "buy", type: "limit", price: "50000.00", quantity: "0.01" };
    for (let i = 0; i < 2; i++) await expectRetryNotBooked(buyer, body, key, id);
    // The same over the market's order entry as a batch of one, and after another restart.
    await restart(market);
    const again = await orderBook(env, market).placeBatch([
      preparePlacement(rules, principal(buyer.id), body as PlaceOrderRequest, SYSTEM_METADATA, id).command,
    ]);
    expect(again[0]).toMatchObject({ ok: false, code: "NOT_BOOKED", duplicate: true });

    await settle(market);
    expect(await postgresRow(id)).toBeUndefined();
    expect((await orderBook(env, market).getOrder({ orderId: id })).live).toBeNull();
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: 1_000_000_000n, locked: 0n });
    // A seller at that price finds nothing to fill.
    const sold = await placeOrder(seller, {
      market,
      side: "sell",
      type: "limit",
      price: "50000.00",
      quantity: "0.01",
    });
    const sale = (await sold.json()) as { fills: unknown[] };
    expect(sold.status).toBe(201);
    expect(sale.fills).toEqual([]);
  });
});
