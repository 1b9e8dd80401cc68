import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { derivedUuid } from "../../../src/lib/derived-id";
import { api, expectError } from "../auth/helpers";
import type { PlaceCommand } from "../../../src/domain/market/commands";
import type { Principal } from "../../../src/http/principal";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import {
  configureOrderBook,
  loadMarketRules,
  orderBook,
} from "../../../src/services/trading/market-directory";
import { preparePlacement } from "../../../src/domain/market/placement";
import {
  balanceOf,
  createMarket,
  placeOrder,
  placed,
  reservedByOpenOrders,
  settle,
  trader,
  BTC,
  USDT,
} from "./helpers";
import { toBookRules } from "../../../src/domain/market/market-rules";

const redis = () =>
  new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    enableTelemetry: false,
  });

async function ordersOf(userId: string) {
  return withDatabase(env, (db) => db.select().from(orders).where(eq(orders.userId, userId)));
}

/** Every open order in Postgres is live in the book with its lock, and nothing else is locked. */
async function expectBookAndLocksAgree(market: string, userId: string, asset: string) {
  await settle(market);
  const rows = await ordersOf(userId);
  const book = orderBook(env, market);
  const lookups = await Promise.all(rows.map((row) => book.getOrder({ orderId: row.id })));
  rows.forEach((row, i) => {
    const open = row.status === "new" || row.status === "partially_filled";
    expect(row.status, row.id).not.toBe("pending");
    expect(Boolean(lookups[i]!.live), `${row.id} is ${row.status}`).toBe(open);
    if (!open) expect(row.consumedAmount + row.releasedAmount).toBe(row.lockedAmount);
  });
  expect((await balanceOf(userId, asset)).locked).toBe(await reservedByOpenOrders(userId, asset));
}

describe("the object owns the order from the lock on", () => {
  it("a cancel racing its own placement never leaves an order in the book without its lock", async () => {
    const market = await createMarket();
    // Ten traders (each within its per-minute request limit), twenty races each: 200 in all.
    const traders = await Promise.all(Array.from({ length: 10 }, () => trader({ USDT: "2000" })));
    const body = { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" };
    const outcomes = new Map<number, number>();
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        traders.map(async (t) => {
          // The order's id follows from the Idempotency-Key, so the cancel can name it at once.
          const key = `race-${crypto.randomUUID()}`;
          const id = derivedUuid("order", t.id, key, "0");
          const [place, cancel] = await Promise.all([
            placeOrder(t, body, { "idempotency-key": key }),
            api("DELETE", `/api/v1/orders/${id}`, { token: t.token }),
          ]);
          expect(place.status).toBe(201);
          outcomes.set(cancel.status, (outcomes.get(cancel.status) ?? 0) + 1);
        }),
      );
    }
    // 200: cancelled; 404: the cancel came before the order existed (it then rests, funded).
    expect([...outcomes.keys()].every((s) => s === 200 || s === 404)).toBe(true);
    for (const t of traders) {
      await expectBookAndLocksAgree(market, t.id, "USDT");
      const rows = await ordersOf(t.id);
      expect(rows).toHaveLength(20);
      const open = rows.filter((r) => r.status === "new").length;
      expect(rows.filter((r) => r.status === "cancelled")).toHaveLength(20 - open);
      expect(await balanceOf(t.id, "USDT")).toEqual({
        available: USDT("2000") - USDT("60") * BigInt(open),
        locked: USDT("60") * BigInt(open),
      });
    }
  }, 120_000); // 400 requests and 200 checks: slow on a loaded machine, not a timed test

  it("a cancel sent to the object in the same turn as its placement runs after it, hundreds of times", async () => {
    const market = await createMarket();
    const lee = await trader({ BTC: "1" });
    const principal: Principal = {
      userId: lee.id,
      role: "user",
      kycStatus: "verified",
      emailVerified: true,
      via: "session",
      permissions: ["read", "trade"],
    };
    const rules = await withDatabase(env, (db) => loadMarketRules(db, market, true));
    await configureOrderBook(env, toBookRules(rules));
    const book = orderBook(env, market);
    // What the Worker sends for a placement and for a cancel, reaching the object together.
    const pairs = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const p = preparePlacement(
          rules,
          principal,
          { market, side: "sell", type: "limit", price: "70000.00", quantity: "0.001" },
          SYSTEM_METADATA,
        );
        const [place] = await Promise.all([
          book.place(p.command as PlaceCommand),
          book.cancel(p.rows[0]!.id, lee.id),
        ]);
        return place;
      }),
    );
    expect(pairs.every((r) => r.ok)).toBe(true);
    await expectBookAndLocksAgree(market, lee.id, "BTC");
    const rows = await ordersOf(lee.id);
    expect(rows.filter((r) => r.status === "cancelled").length).toBeGreaterThan(0);
    expect(rows.every((r) => r.status === "cancelled" || r.status === "new")).toBe(true);
  }, 120_000);

  it("a retry after a failure that followed the book's acceptance places one order", async () => {
    const market = await createMarket();
    const mo = await trader({ USDT: "1000" });
    const body = { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" };
    const key = `retry-${crypto.randomUUID()}`;
    await placed(mo, body);
    const a = await placeOrder(mo, body, { "idempotency-key": key });
    expect(a.status).toBe(201);
    const firstReply = (await a.json()) as { order: { id: string } };
    // Anything thrown after the book took the order frees the key (see runIdempotent): the
    // client's retry then runs again instead of being replayed from Redis.
    await redis().del(`idempotency:order:${mo.id}:${key}`);
    const b = await placeOrder(mo, body, { "idempotency-key": key });
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(((await b.json()) as { order: { id: string } }).order.id).toBe(firstReply.order.id);
    expect(await ordersOf(mo.id)).toHaveLength(2); // `first` and the keyed one
    expect(await balanceOf(mo.id, "USDT")).toEqual({ available: USDT("880"), locked: USDT("120") });
  });

  it("insufficient funds leaves no order, no lock and no audit of a placement", async () => {
    const market = await createMarket();
    const ola = await trader({ USDT: "50" });
    await expectError(
      await placeOrder(ola, { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" }),
      422,
      "INSUFFICIENT_FUNDS",
    );
    expect(await ordersOf(ola.id)).toHaveLength(0);
    expect(await balanceOf(ola.id, "USDT")).toEqual({ available: USDT("50"), locked: 0n });
  });
});

describe("POST /api/v1/orders/batch", () => {
  it("places each order on its own, in request order, one refusal never failing the others", async () => {
    const market = await createMarket();
    const pat = await trader({ USDT: "100", BTC: "0.01" });
    const res = await api("POST", "/api/v1/orders/batch", {
      token: pat.token,
      body: {
        orders: [
          { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" },
          { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.01" }, // 600 USDT: too much
          { market, side: "buy", type: "limit", price: "60000.005", quantity: "0.001" }, // off the tick
          { market: "NOPE-USDT", side: "buy", type: "limit", price: "1.00", quantity: "1" },
          { market, side: "sell", type: "limit", price: "60000.00", quantity: "0.001" }, // self-trade: expires
          { market, side: "sell", type: "limit", price: "61000.00", quantity: "0.002" },
        ],
      },
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as {
      results: ({ order: { id: string; status: string } } | { error: { code: string } })[];
    };
    expect(results.map((r) => ("error" in r ? r.error.code : r.order.status))).toEqual([
      "new",
      "INSUFFICIENT_FUNDS",
      "INVALID_TICK",
      "MARKET_NOT_FOUND",
      "expired",
      "new",
    ]);
    await expectBookAndLocksAgree(market, pat.id, "USDT");
    await expectBookAndLocksAgree(market, pat.id, "BTC");
    expect(await balanceOf(pat.id, "USDT")).toEqual({ available: USDT("40"), locked: USDT("60") });
    expect(await balanceOf(pat.id, "BTC")).toEqual({ available: BTC("0.008"), locked: BTC("0.002") });
  });

  it("a retried batch under one Idempotency-Key places nothing twice", async () => {
    const market = await createMarket();
    const quinn = await trader({ USDT: "1000" });
    const key = `batch-${crypto.randomUUID()}`;
    const body = {
      orders: [
        { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" },
        { market, side: "buy", type: "limit", price: "59000.00", quantity: "0.001" },
      ],
    };
    const send = () =>
      api("POST", "/api/v1/orders/batch", { token: quinn.token, body, headers: { "idempotency-key": key } });
    const first = (await (await send()).json()) as { results: { order: { id: string } }[] };
    await redis().del(`idempotency:order:${quinn.id}:${key}`);
    const second = (await (await send()).json()) as { results: { order: { id: string } }[] };
    expect(second.results.map((r) => r.order.id)).toEqual(first.results.map((r) => r.order.id));
    expect(await ordersOf(quinn.id)).toHaveLength(2);
    expect(await balanceOf(quinn.id, "USDT")).toEqual({ available: USDT("881"), locked: USDT("119") });
  });

  it("refuses an empty or oversized batch as invalid (422)", async () => {
    const rex = await trader();
    const market = await createMarket();
    const one = { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" };
    for (const orders of [[], Array.from({ length: 101 }, () => one)]) {
      const res = await api("POST", "/api/v1/orders/batch", { token: rex.token, body: { orders } });
      await expectError(res, 422, "VALIDATION_FAILED");
    }
  });
});
