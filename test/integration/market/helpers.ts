import { env } from "cloudflare:workers";
import type { MarketCommand, PlaceCommand } from "../../../src/domain/market/commands";
import type { BookRules } from "../../../src/domain/market/market-rules";
import { mulberry32 } from "../../../bench/engine/prng";
import { demoMarketRules } from "../../../scripts/lib/demo-rules";

/** BTC-USDT's demo rules under another symbol, so every test file gets its own object. */
export function testRules(symbol: string, overrides: Partial<BookRules> = {}): BookRules {
  return demoMarketRules(symbol, "BTC-USDT", overrides);
}

export async function configuredBook(symbol: string, overrides: Partial<BookRules> = {}) {
  const stub = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
  const result = await stub.configure(testRules(symbol, overrides));
  if (!result.ok) throw new Error(result.message);
  return stub;
}

/** A deterministic PRNG (mulberry32) so failures replay. */
export const prng = mulberry32;

/**
 * Random limit orders around 64,000.00 within 40 ticks each side (so the whole book fits in
 * 100 levels), some marketable, plus cancels of earlier ids.
 */
export function randomCommands(seed: number, count: number, prefix: string): MarketCommand[] {
  const next = prng(seed);
  const out: MarketCommand[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 10 && next() < 0.15) {
      out.push({ kind: "cancel", orderId: `${prefix}-${Math.floor(next() * i)}` });
      continue;
    }
    const side = next() < 0.5 ? "buy" : "sell";
    const offset = Math.floor(next() * 40) - (side === "buy" ? 30 : 10);
    const price = (6_400_000 + (side === "buy" ? offset : -offset)) / 100;
    const order: PlaceCommand = {
      kind: "place",
      orderId: `${prefix}-${i}`,
      userId: `user-${Math.floor(next() * 20)}`,
      side,
      type: "limit",
      price: price.toFixed(2),
      quantity: (0.001 * (1 + Math.floor(next() * 50))).toFixed(3),
    };
    out.push(order);
  }
  return out;
}
