import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { secureHeaders } from "hono/secure-headers";
import { binanceRoutes } from "./binance";
import { streamRoutes } from "./binance/streams/stream-routes";
import { userDataRoutes } from "./binance/user-data/user-data-routes";
import { wsApiRoutes } from "./binance/ws-api/ws-api-routes";
import type { AppEnv } from "./http/app-env";
import { onError, onMethodNotAllowed, onNotFound } from "./http/error-handler";
import { errorResponse } from "./http/error-response";
import { releaseResources } from "./http/resources";
import { setAnsweredHeader } from "./http/answered-headers";
import { createAppRouter } from "./http/router";
import { ErrorCode } from "./lib/errors";
import { refuseControlCharacters } from "./middleware/control-characters";
import { jsonOnly } from "./middleware/json-only";
import { productionGuard } from "./middleware/production-guard";
import { apiRateLimit } from "./middleware/authenticate";
import { requestContext } from "./middleware/request-context";
import { adminRoutes } from "./routes/admin";
import { adminWalletRoutes } from "./routes/admin-wallets";
import { depositWebhookRoutes } from "./routes/deposit-webhook";
import { adminMarketRoutes } from "./routes/admin-markets";
import { adminSettlementRoutes } from "./routes/admin-settlement";
import { adminMetricsRoutes } from "./routes/admin-metrics";
import { apiKeyRoutes } from "./routes/api-keys";
import { authRoutes, jwksRoutes } from "./routes/auth";
import { mountDocs } from "./routes/docs";
import { healthRoutes } from "./routes/health";
import { marketRoutes } from "./routes/markets";
import { meRoutes } from "./routes/me";
import { passwordResetRoutes } from "./routes/password-reset";
import { twoFactorRoutes } from "./routes/two-factor";
import { withdrawalAddressRoutes } from "./routes/withdrawal-addresses";
import { adminTradingRoutes, orderRoutes } from "./routes/orders";
import { orderLimitRoutes } from "./routes/order-limits";
import { portfolioRoutes } from "./routes/portfolio";
import { walletRoutes } from "./routes/wallets";

/** Largest request body the API accepts; orders and profiles are far smaller. */
export const MAX_BODY_BYTES = 64 * 1024;

function allowedOrigin(origin: string, env: Env): string | null {
  const allowed = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  if (allowed.includes("*")) return origin || "*";
  return allowed.includes(origin) ? origin : null;
}

/**
 * API answers carry tokens, secrets, balances and orders: no cache may keep them, unless a route
 * says otherwise (none under /api does today).
 */
const noStoreByDefault: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (!c.res.headers.has("Cache-Control")) setAnsweredHeader(c, "Cache-Control", "no-store");
};

const corsHeaders = cors({
  origin: (origin, c) => allowedOrigin(origin, c.env as Env),
  allowHeaders: [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-Id",
    "X-API-Key",
    "X-API-Timestamp",
    "X-API-Signature",
    "traceparent",
  ],
  exposeHeaders: ["X-Request-Id", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
  maxAge: 600,
});

/**
 * CORS for the requests a browser sends cross-origin, which always carry `Origin` (preflights
 * included); a request without one gets only `Vary: Origin`, since no CORS header of its
 * answer would be read. Hono's cors writes its headers before the route answers, which makes
 * Hono build a placeholder Response and copy it into the route's: not for every bot request.
 */
const corsForBrowsers: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header("origin") !== undefined) return corsHeaders(c, next);
  await next();
  setAnsweredHeader(c, "Vary", "Origin", true);
};

/** Composes the Worker's HTTP application: cross-cutting middleware, then the routes. */
export function createApp() {
  const app = createAppRouter();

  app.use("*", requestContext);
  app.use("*", productionGuard);
  app.use("*", releaseResources);
  app.use("*", methodNotAllowed({ app, onMethodNotAllowed }));
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  app.use("*", corsForBrowsers);
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        errorResponse(
          c,
          413,
          ErrorCode.PAYLOAD_TOO_LARGE,
          `The request body exceeds ${MAX_BODY_BYTES} bytes`,
        ),
    }),
  );
  app.use("/api/*", noStoreByDefault);
  // Binance's face takes form bodies and answers Binance's error shape (its parameter schemas
  // refuse control characters as -1100), and its request weights are its per-IP limit
  // (src/binance/weights.ts): mounted ahead of the JSON-only rule and of the /api/v1 limits.
  app.route("/", binanceRoutes);
  app.route("/", userDataRoutes);
  // The WebSocket API runs the REST endpoints its methods stand for through this same app.
  app.route(
    "/",
    wsApiRoutes(async (request, env, ctx) => app.fetch(request, env, ctx)),
  );
  app.use("*", jsonOnly);
  app.use("*", refuseControlCharacters);

  app.route("/", healthRoutes);
  app.route("/", jwksRoutes);
  // HMAC-authenticated machine traffic: not subject to the per-IP limit of people.
  app.route("/api/v1", depositWebhookRoutes);
  app.use("*", apiRateLimit);
  app.route("/api/v1", authRoutes);
  app.route("/api/v1", meRoutes);
  app.route("/api/v1", passwordResetRoutes);
  app.route("/api/v1", twoFactorRoutes);
  app.route("/api/v1", apiKeyRoutes);
  app.route("/api/v1", adminRoutes);
  app.route("/api/v1", withdrawalAddressRoutes);
  app.route("/api/v1", walletRoutes);
  app.route("/api/v1", adminWalletRoutes);
  app.route("/", marketRoutes);
  app.route("/", streamRoutes);
  app.route("/", adminMarketRoutes);
  app.route("/api/v1", orderRoutes);
  app.route("/api/v1", adminTradingRoutes);
  app.route("/api/v1", adminSettlementRoutes);
  app.route("/api/v1", orderLimitRoutes);
  app.route("/api/v1", adminMetricsRoutes);
  app.route("/api/v1", portfolioRoutes);
  mountDocs(app);

  app.onError(onError);
  app.notFound(onNotFound);
  return app;
}

export type App = ReturnType<typeof createApp>;
