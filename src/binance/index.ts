import { createBinanceRouter } from "./binance-router";
import { accountRoutes } from "./routes/account";
import { marketDataRoutes } from "./routes/market-data";
import { orderListRoutes } from "./routes/order-lists";
import { tradingRoutes } from "./routes/trading";

/**
 * The Binance-compatible face (docs/binance-api.md): Binance's spot REST paths, parameters,
 * field names and error bodies under /api/v3, over the same services as /api/v1.
 */
export const binanceRoutes = createBinanceRouter()
  .route("/", marketDataRoutes)
  .route("/", tradingRoutes)
  .route("/", orderListRoutes)
  .route("/", accountRoutes);
