// Binance's account endpoints as plain functions (REST routes/account.ts and the WebSocket API).
import { defaultOrderLimits, effectiveOrderLimits } from "../domain/market/order-limits";
import { formatUnits } from "../lib/money";
import { getBalances } from "../domain/ledger/ledger";
import { loadAllMarketRules } from "../services/trading/market-directory";
import type { Redis } from "@upstash/redis/cloudflare";
import type { BinanceCaller } from "./caller";
import { orderCounts } from "./order-count";
import { orderLimitsOf } from "./routes/exchange-info";
import { binanceSymbol, marketRulesOf } from "./symbols";
import { commissionRates, noDiscount } from "./views";

/**
 * GET /account: balances (free = available, locked = held by open orders and withdrawals) and
 * rights. Fees are per market here: the account-level commission is the highest of the markets'.
 */
export async function accountInformation(caller: BinanceCaller, omitZeroBalances = false) {
  const { db, principal } = caller;
  const [balances, markets] = await Promise.all([getBalances(db, principal.userId), loadAllMarketRules(db)]);
  const maker = Math.max(0, ...markets.map((m) => m.makerFeeBps));
  const taker = Math.max(0, ...markets.map((m) => m.takerFeeBps));
  return {
    makerCommission: maker,
    takerCommission: taker,
    buyerCommission: 0,
    sellerCommission: 0,
    commissionRates: commissionRates(maker, taker),
    canTrade: principal.permissions.includes("trade") && principal.kycStatus === "verified",
    canWithdraw: principal.permissions.includes("withdraw"),
    canDeposit: true,
    brokered: false,
    requireSelfTradePrevention: false,
    preventSor: false,
    updateTime: Date.now(),
    accountType: "SPOT",
    balances: balances
      .filter((b) => !omitZeroBalances || b.available + b.locked > 0n)
      .map((b) => ({
        asset: b.asset,
        free: formatUnits(b.available, b.decimals),
        locked: formatUnits(b.locked, b.decimals),
      })),
    permissions: ["SPOT"],
  };
}

/** GET /account/commission: a market's maker and taker fees for the caller. */
export async function accountCommission(caller: BinanceCaller, symbol: string) {
  const rules = await marketRulesOf(caller.db, symbol);
  return {
    symbol: binanceSymbol(rules.symbol),
    standardCommission: commissionRates(rules.makerFeeBps, rules.takerFeeBps),
    specialCommission: commissionRates(0, 0),
    taxCommission: commissionRates(0, 0),
    discount: noDiscount(),
  };
}

/**
 * GET /rateLimit/order: the caller's order-entry limits (the API key's, the account's, else the
 * exchange's) with this face's counts (order-count.ts; left out when Redis cannot answer).
 */
export async function orderRateLimits(caller: BinanceCaller, redis: Redis) {
  const counts = await orderCounts(redis, caller.principal.userId).catch(() => undefined);
  return orderLimitsOf(
    effectiveOrderLimits(defaultOrderLimits(caller.env), caller.principal.orderLimits),
    counts,
  );
}
