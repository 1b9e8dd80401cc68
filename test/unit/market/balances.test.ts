import { describe, expect, it } from "vitest";
import { LatestBalances, isBalanceUpdate } from "../../../durable-objects/market/balances";
import type { BalanceUpdate } from "../../../src/domain/ledger/balance-updates";

const u = (userId: string, asset: string, version: string, available = "1.0"): BalanceUpdate => ({
  userId,
  asset,
  available,
  locked: "0.0",
  version,
});

describe("the latest balances an order book has seen", () => {
  it("keeps the highest version per user and asset, and refuses an older or equal one", () => {
    const latest = new LatestBalances();
    expect(latest.offer(u("a", "BTC", "10", "1.0"))).toBe(true);
    expect(latest.offer(u("a", "BTC", "9", "9.0"))).toBe(false);
    expect(latest.offer(u("a", "BTC", "10", "9.0"))).toBe(false);
    expect(latest.offer(u("a", "USDT", "3", "5.0"))).toBe(true);
    // Versions are bigints: "100" is newer than "99" whatever their string order.
    expect(latest.offer(u("a", "BTC", "100", "2.0"))).toBe(true);
    expect(latest.offer(u("b", "BTC", "1", "7.0"))).toBe(true);
    expect(latest.of("a", ["BTC", "USDT", "ETH"])).toEqual([
      { asset: "BTC", available: "2.0", locked: "0.0" },
      { asset: "USDT", available: "5.0", locked: "0.0" },
    ]);
    expect(latest.of("c", ["BTC"])).toEqual([]);
  });

  it("forgets users without subscribers", () => {
    const latest = new LatestBalances();
    latest.offer(u("a", "BTC", "1"));
    latest.offer(u("b", "BTC", "1"));
    latest.retain(new Set(["b"]));
    expect(latest.of("a", ["BTC"])).toEqual([]);
    expect(latest.of("b", ["BTC"])).toHaveLength(1);
    // Forgotten, so any version is accepted again.
    expect(latest.offer(u("a", "BTC", "0"))).toBe(true);
  });

  it("validates what arrives over RPC", () => {
    expect(isBalanceUpdate(u("a", "BTC", "12"))).toBe(true);
    for (const bad of [
      null,
      "x",
      { ...u("a", "BTC", "1"), version: "-1" },
      { ...u("a", "BTC", "1"), available: 1 },
    ]) {
      expect(isBalanceUpdate(bad)).toBe(false);
    }
  });
});
