import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { OrderBook } from "../../../durable-objects/order-book";
import { withDatabase } from "../../../src/db/client";
import { settlementCursors, settlementQuarantine } from "../../../src/db/schema";
import type { ReadPages } from "../../../src/domain/settlement/settle-market";
import { orderBook } from "../../../src/services/trading/market-directory";
import { placed, tradingFloor } from "../trading/helpers";
import { injectOutbox, type Unnumbered } from "../trading/settlement-helpers";

/**
 * review17: the object's settler runs a round for as long as entries keep coming (up to 10 s), so
 * an operator's stop (`setSelfSettling(false)`) must end the round it meets, not wait for its
 * time: once the pages out are answered the cursor stays where it is. A long backlog (entries that
 * settle as nothing: rejections of orders Postgres never had) read one stored row a page keeps
 * the round busy for seconds; started again, the settler settles the rest, each entry once.
 */

type Inside = { settler: { source: { readPages: ReadPages } } };

const cursorOf = (market: string) =>
  withDatabase(env, async (db) => {
    const [row] = await db.select().from(settlementCursors).where(eq(settlementCursors.market, market));
    return row?.lastSeq ?? 0;
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("review17: an operator's stop during a settler's long round", () => {
  it("ends the round it meets: the cursor stops while a backlog waits; started again, everything settles once", async () => {
    const floor = await tradingFloor({ b1: { USDT: "5000" }, s1: { BTC: "1" } });
    const { market, b1, s1 } = floor;
    const fill = async () => {
      await placed(s1, { market, side: "sell", type: "limit", price: "50000.00", quantity: "0.001" });
      await placed(b1, { market, side: "buy", type: "limit", price: "50000.00", quantity: "0.001" });
    };
    await fill();
    const book = orderBook(env, market);
    // Settled, and the round that did it over (a round takes its reader when it starts).
    for (let i = 0; i < 100 && (await book.readOutbox(0, 10)).entries.length > 0; i++) await sleep(20);
    await sleep(200);
    // The settler reads one stored row a page (a row per injected entry): a backlog of seconds.
    const restore = await runInDurableObject(book, (instance: OrderBook) => {
      const source = (instance as unknown as Inside).settler.source;
      const reader = source.readPages;
      source.readPages = (afterSeq) => reader(afterSeq, 1);
      return () => (source.readPages = reader);
    });
    const rejection = (): Unnumbered => ({
      kind: "order",
      ts: Date.now(),
      event: "rejected",
      orderId: crypto.randomUUID(),
      userId: b1.id,
      market,
      status: "rejected",
      reason: "NOT_BOOKED",
    });
    const seqs = await injectOutbox(market, Array.from({ length: 5_000 }, rejection));
    await fill(); // kicks the settler (the injection does not)
    for (let i = 0; i < 100 && (await cursorOf(market)) < seqs[0]! + 20; i++) await sleep(20);
    const running = await cursorOf(market);
    expect(running).toBeGreaterThanOrEqual(seqs[0]! + 20); // the round is under way
    await book.setSelfSettling(false);
    // The pages out are answered within a few hundred ms; then nothing more is sent.
    await sleep(500);
    const stopped = await cursorOf(market);
    await sleep(1_500);
    expect(await cursorOf(market)).toBe(stopped);
    expect(stopped).toBeLessThan(seqs[seqs.length - 1]!); // the backlog was still there
    // Started again (and reading whole pages): the rest settles by itself, each entry once.
    await runInDurableObject(book, () => restore());
    await book.setSelfSettling(true);
    for (let i = 0; i < 200 && (await book.readOutbox(0, 10)).entries.length > 0; i++) await sleep(50);
    expect((await book.readOutbox(0, 10)).entries).toEqual([]);
    const quarantined = await withDatabase(env, (db) =>
      db.select().from(settlementQuarantine).where(eq(settlementQuarantine.market, market)),
    );
    expect(quarantined).toEqual([]);
    await floor.expectBalanced();
  }, 60_000);
});
