import type { MarketCommand } from "../../src/domain/market/commands";
import { mulberry32 } from "../engine/prng";

/**
 * A realistic mix for throughput: 70% limit orders around 64,000.00 (about a third of them
 * marketable), 25% cancels of recent orders, 5% market orders; 200 users. Prices and
 * quantities are decimal strings on BTC-USDT's grid (tick 0.01, lot 0.00001).
 */
export function loadCommands(seed: number, count: number, prefix: string): MarketCommand[] {
  const next = mulberry32(seed);
  const out: MarketCommand[] = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    const userId = `u${Math.floor(next() * 200)}`;
    const side = next() < 0.5 ? "buy" : "sell";
    const quantity = `0.${String(100 + Math.floor(next() * 5_000)).padStart(5, "0")}`;
    if (r < 0.25 && i > 100) {
      out.push({ kind: "cancel", orderId: `${prefix}${i - 1 - Math.floor(next() * 100)}` });
    } else if (r < 0.3) {
      out.push({ kind: "place", orderId: `${prefix}${i}`, userId, side, type: "market", quantity });
    } else {
      // Passive orders sit up to 200 ticks behind the touch; marketable ones cross up to 20 ticks.
      const ticks =
        side === "buy"
          ? 6_400_000 - Math.floor(next() * 200) + 20
          : 6_400_000 + Math.floor(next() * 200) - 20;
      const price = `${Math.floor(ticks / 100)}.${String(ticks % 100).padStart(2, "0")}`;
      out.push({ kind: "place", orderId: `${prefix}${i}`, userId, side, type: "limit", price, quantity });
    }
  }
  return out;
}
