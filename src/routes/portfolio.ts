import { z } from "@hono/zod-openapi";
import { getDb } from "../http/resources";
import { createRouter } from "../http/router";
import { authenticate } from "../middleware/authenticate";
import {
  addToWatchlist,
  listWatchlist,
  pnl,
  portfolioSummary,
  positions,
  removeFromWatchlist,
} from "../services/trading/portfolio";
import { Symbol } from "../domain/market/order-body";
import { signedInRoutes } from "./route-group";
import { jsonBody, jsonReply } from "./user-schemas";

const portfolio = signedInRoutes(["Portfolio"], [authenticate({ permission: "read" })]);
/** A change of account state: a `read` key may not make it (a `trade` key may). */
const write = [authenticate({ permission: "trade" })];
const QuoteQuery = z.object({
  quote: z
    .string()
    .regex(/^[A-Z0-9]{2,10}$/)
    .default("USDT")
    .openapi({ description: "Valuation asset" }),
});

const BalanceValue = z.object({
  asset: z.string(),
  available: z.string(),
  locked: z.string(),
  total: z.string(),
  price: z.string().nullable(),
  value: z.string().nullable(),
});
const Summary = z
  .object({
    quote_asset: z.string(),
    total_value: z.string(),
    balances: z.array(BalanceValue),
    unpriced: z.array(z.string()),
  })
  .openapi("PortfolioSummary");
const Positions = z
  .object({
    quote_asset: z.string(),
    positions: z.array(
      z.object({
        asset: z.string(),
        market: z.string(),
        quantity: z.string(),
        average_cost: z.string(),
        last_price: z.string().nullable(),
        market_value: z.string().nullable(),
        realized_pnl: z.string(),
        unrealized_pnl: z.string().nullable(),
      }),
    ),
  })
  .openapi("Positions");
const Pnl = z
  .object({
    quote_asset: z.string(),
    from: z.string(),
    to: z.string(),
    trades: z.number(),
    realized_pnl: z.string(),
    fees: z.string(),
    unrealized_pnl: z.string(),
    assets: z.array(
      z.object({
        asset: z.string(),
        realized_pnl: z.string(),
        fees: z.string(),
        trades: z.number(),
        unrealized_pnl: z.string(),
      }),
    ),
  })
  .openapi("Pnl");
const Watchlist = z
  .object({ watchlist: z.array(z.object({ symbol: z.string(), added_at: z.string() })) })
  .openapi("Watchlist");

const summaryRoute = portfolio.get("/portfolio", {
  summary: "Balances valued in a quote asset at the last trade prices, with the total",
  request: { query: QuoteQuery },
  reply: { 200: jsonReply("Portfolio", Summary) },
  errors: [400],
});

const positionsRoute = portfolio.get("/portfolio/positions", {
  summary: "Per asset: quantity, average cost (buys move it, sells do not), realized and unrealized P&L",
  request: { query: QuoteQuery },
  reply: { 200: jsonReply("Positions", Positions) },
  errors: [400],
});

const pnlRoute = portfolio.get("/portfolio/pnl", {
  summary:
    "Realized P&L and fees of the trades in [from, to) (default: the last 30 days), and unrealized P&L now",
  request: {
    query: QuoteQuery.extend({ from: z.iso.datetime().optional(), to: z.iso.datetime().optional() }),
  },
  reply: { 200: jsonReply("P&L", Pnl) },
  errors: [400],
});

const watchlistReply = { 200: jsonReply("Watchlist", Watchlist) };

const listWatchRoute = portfolio.get("/watchlist", { summary: "My watchlist", reply: watchlistReply });

const addWatchRoute = portfolio.post("/watchlist", {
  summary: "Add a market to my watchlist (adding twice keeps one entry)",
  middleware: write,
  request: jsonBody(z.strictObject({ symbol: Symbol })),
  reply: watchlistReply,
  errors: [404, 415, 422],
});

const removeWatchRoute = portfolio.delete("/watchlist/{symbol}", {
  summary: "Remove a market from my watchlist",
  middleware: write,
  request: { params: z.object({ symbol: Symbol.openapi({ param: { name: "symbol", in: "path" } }) }) },
  reply: watchlistReply,
  errors: [400, 404],
});

const DAY_MS = 86_400_000;

export const portfolioRoutes = createRouter()
  .openapi(summaryRoute, async (c) =>
    c.json(await portfolioSummary(getDb(c), c.get("principal").userId, c.req.valid("query").quote), 200),
  )
  .openapi(positionsRoute, async (c) =>
    c.json(await positions(getDb(c), c.get("principal").userId, c.req.valid("query").quote), 200),
  )
  .openapi(pnlRoute, async (c) => {
    const q = c.req.valid("query");
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * DAY_MS);
    return c.json(await pnl(getDb(c), c.get("principal").userId, q.quote, from, to), 200);
  })
  .openapi(listWatchRoute, async (c) =>
    c.json({ watchlist: await listWatchlist(getDb(c), c.get("principal").userId) }, 200),
  )
  .openapi(addWatchRoute, async (c) => {
    const userId = c.get("principal").userId;
    await addToWatchlist(getDb(c), userId, c.req.valid("json").symbol);
    return c.json({ watchlist: await listWatchlist(getDb(c), userId) }, 200);
  })
  .openapi(removeWatchRoute, async (c) => {
    const userId = c.get("principal").userId;
    await removeFromWatchlist(getDb(c), userId, c.req.valid("param").symbol);
    return c.json({ watchlist: await listWatchlist(getDb(c), userId) }, 200);
  });
