import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { defaultOrderLimits, effectiveOrderLimits } from "../domain/market/order-limits";
import type { AppEnv } from "../http/app-env";
import { createRouter } from "../http/router";
import { authenticate } from "../middleware/authenticate";
import { serviceContext } from "../services/auth/context";
import { setApiKeyOrderLimits, setUserOrderLimits } from "../services/trading/order-limits-admin";
import { adminOnlyRoutes, signedInRoutes } from "./route-group";
import { IdParamSchema, jsonBody, jsonReply } from "./user-schemas";

const LIMITS_NOTE =
  "Placements count the same over REST, batches and the market socket, per account and market, in fixed " +
  "windows of 10 seconds and a UTC day; a placement past a limit is refused with 429 TOO_MANY_ORDERS and " +
  "Retry-After.";

const Limit = z.number().int().min(1).max(1_000_000_000).nullable();
const SettingSchema = z
  .strictObject({ per_10s: Limit, per_day: Limit })
  .openapi("OrderLimitsSetting", { description: "An account's or key's own limits; null inherits." });
const LimitsSchema = z
  .object({
    effective: z.object({ per_10s: z.number().int(), per_day: z.number().int() }),
    own: z.object({ per_10s: z.number().int().nullable(), per_day: z.number().int().nullable() }),
  })
  .openapi("OrderLimits");

const mineRoute = signedInRoutes(["Trading"], [authenticate({ permission: "read" })]).get(
  "/users/me/order-limits",
  {
    summary: "The caller's order-entry limits (an API key's own, else its account's, else the exchange's)",
    description: LIMITS_NOTE,
    reply: { 200: jsonReply("Order-entry limits", LimitsSchema) },
  },
);

const admin = adminOnlyRoutes(["Administration"]);
const adminRoute = (path: string, what: string) =>
  admin.put(path, {
    summary: `Set ${what}'s own order-entry limits (null inherits)`,
    description: LIMITS_NOTE,
    request: { params: IdParamSchema, ...jsonBody(SettingSchema) },
    reply: { 200: jsonReply("The limits now", LimitsSchema) },
    errors: [400, 404, 415, 422],
  });

const userRoute = adminRoute("/admin/users/{id}/order-limits", "an account");
const keyRoute = adminRoute("/admin/api-keys/{id}/order-limits", "an API key");

const actorOf = (c: Context<AppEnv>) => c.get("principal").userId;

export const orderLimitRoutes = createRouter()
  .openapi(mineRoute, (c) => {
    const own = c.get("principal").orderLimits;
    const effective = effectiveOrderLimits(defaultOrderLimits(c.env), own);
    return c.json(
      {
        effective: { per_10s: effective.per10s, per_day: effective.perDay },
        own: { per_10s: own?.per10s ?? null, per_day: own?.perDay ?? null },
      },
      200,
    );
  })
  .openapi(userRoute, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await setUserOrderLimits(serviceContext(c), id, c.req.valid("json"), actorOf(c)), 200);
  })
  .openapi(keyRoute, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await setApiKeyOrderLimits(serviceContext(c), id, c.req.valid("json"), actorOf(c)), 200);
  });
