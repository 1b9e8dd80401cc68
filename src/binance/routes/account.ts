import { z } from "@hono/zod-openapi";
import { accountCommission, accountInformation, orderRateLimits } from "../account";
import { getRedis } from "../../http/resources";
import { callerOf } from "../caller";
import { binanceRoute } from "../openapi";
import { myTradesOf } from "../order-actions";
import { HistoryParams } from "../order-params";
import { P, SignedParams, binanceParams } from "../params";
import { createBinanceRouter } from "../binance-router";

const AccountParams = z
  .object({ omitZeroBalances: z.enum(["true", "false"]).optional() })
  .extend(SignedParams.shape);
const SymbolParams = z.object({ symbol: P.symbol }).extend(SignedParams.shape);

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
      return c.json(await accountInformation(callerOf(c), q.omitZeroBalances === "true"), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/myTrades",
      summary: "My fills in a market (by `orderId`, from `fromId`, or the most recent)",
      params: HistoryParams,
      weight: (q) => (q.orderId ? 5 : 20),
      signed: "read",
    }),
    async (c) => c.json(await myTradesOf(callerOf(c), await binanceParams(c, HistoryParams)), 200),
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
      return c.json(await accountCommission(callerOf(c), q.symbol), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/rateLimit/order",
      summary: "My order-entry limits (the account's or API key's own, else the exchange's)",
      description:
        "`count`: this account's placements through the Binance face in the current window (all markets). The limits are enforced by each market's order book: past one a placement is 429 with -1015.",
      params: SignedParams,
      weight: 40,
      signed: "read",
    }),
    async (c) => c.json(await orderRateLimits(callerOf(c), getRedis(c)), 200),
  );
