import { z } from "@hono/zod-openapi";
import { defaultOrderLimits, effectiveOrderLimits } from "../../domain/order-limits";
import { getDb } from "../../http/resources";
import { formatUnits } from "../../lib/money";
import { getBalances } from "../../services/ledger";
import { loadAllMarketRules } from "../../services/trading/market-directory";
import { binanceRoute } from "../openapi";
import { orderLimitsOf } from "./exchange-info";
import { myTrades } from "../order-queries";
import { P, SignedParams, binanceParams } from "../params";
import { createBinanceRouter } from "../router";
import { binanceSymbol, marketRulesOf } from "../symbols";
import { bpsRate } from "../views";
import { History } from "./trading";

const AccountParams = z
  .object({ omitZeroBalances: z.enum(["true", "false"]).optional() })
  .extend(SignedParams.shape);
const SymbolParams = z.object({ symbol: P.symbol }).extend(SignedParams.shape);

const commission = (maker: number, taker: number) => ({
  maker: bpsRate(maker),
  taker: bpsRate(taker),
  buyer: bpsRate(0),
  seller: bpsRate(0),
});

export const accountRoutes = createBinanceRouter()
  .openapi(
    binanceRoute({
      method: "get",
      path: "/account",
      summary: "My balances (free = available, locked = held by open orders and withdrawals) and rights",
      description:
        "Fees are per market here: the account-level commission is the highest of the markets' (GET /account/commission has a market's own).",
      params: AccountParams,
      weight: 20,
      signed: "read",
    }),
    async (c) => {
      const q = await binanceParams(c, AccountParams);
      const db = getDb(c);
      const principal = c.get("principal");
      const [balances, markets] = await Promise.all([
        getBalances(db, principal.userId),
        loadAllMarketRules(db),
      ]);
      const maker = Math.max(0, ...markets.map((m) => m.makerFeeBps));
      const taker = Math.max(0, ...markets.map((m) => m.takerFeeBps));
      const rows = balances
        .filter((b) => q.omitZeroBalances !== "true" || b.available + b.locked > 0n)
        .map((b) => ({
          asset: b.asset,
          free: formatUnits(b.available, b.decimals),
          locked: formatUnits(b.locked, b.decimals),
        }));
      return c.json(
        {
          makerCommission: maker,
          takerCommission: taker,
          buyerCommission: 0,
          sellerCommission: 0,
          commissionRates: commission(maker, taker),
          canTrade: principal.permissions.includes("trade") && principal.kycStatus === "verified",
          canWithdraw: principal.permissions.includes("withdraw"),
          canDeposit: true,
          brokered: false,
          requireSelfTradePrevention: false,
          preventSor: false,
          updateTime: Date.now(),
          accountType: "SPOT",
          balances: rows,
          permissions: ["SPOT"],
        },
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/myTrades",
      summary: "My fills in a market (by `orderId`, from `fromId`, or the most recent)",
      params: History,
      weight: (q) => (q.orderId ? 5 : 20),
      signed: "read",
    }),
    async (c) => {
      const q = await binanceParams(c, History);
      const db = getDb(c);
      const rules = await marketRulesOf(db, q.symbol);
      const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      return c.json(
        await myTrades(db, rules, {
          userId: c.get("principal").userId,
          market: rules.symbol,
          orderId: num(q.orderId),
          fromId: num(q.fromId),
          startTime: num(q.startTime),
          endTime: num(q.endTime),
          limit: Number(q.limit ?? 500),
        }),
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/account/commission",
      summary: "A market's maker and taker fees for me",
      params: SymbolParams,
      weight: 20,
      signed: "read",
    }),
    async (c) => {
      const q = await binanceParams(c, SymbolParams);
      const rules = await marketRulesOf(getDb(c), q.symbol);
      const zero = bpsRate(0);
      return c.json(
        {
          symbol: binanceSymbol(rules.symbol),
          standardCommission: commission(rules.makerFeeBps, rules.takerFeeBps),
          specialCommission: commission(0, 0),
          taxCommission: commission(0, 0),
          discount: {
            enabledForAccount: false,
            enabledForSymbol: false,
            discountAsset: "BNB",
            discount: zero,
          },
        },
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/rateLimit/order",
      summary: "My order-entry limits (the account's or API key's own, else the exchange's)",
      description:
        "Counts are kept by each market's order book and are not reported here; a placement past a limit is 429 with -1015.",
      params: SignedParams,
      weight: 40,
      signed: "read",
    }),
    (c) =>
      c.json(
        orderLimitsOf(effectiveOrderLimits(defaultOrderLimits(c.env), c.get("principal").orderLimits)),
        200,
      ),
  );
