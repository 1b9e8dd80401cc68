import { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { relayEventsAfterResponse } from "../http/after-response";
import type { AppEnv } from "../http/app-env";
import { requestMetadata } from "../http/request-metadata";
import { getDb } from "../http/resources";
import { createRouter } from "../http/router";
import { decimalAmount } from "../lib/money";
import { assetDecimals } from "../services/assets";
import { recordDepositNotice } from "../services/deposits";
import { verifyWebhook } from "../services/webhook-signature";
import { routeGroup } from "./route-group";
import { jsonBody, jsonReply } from "./user-schemas";
import { DepositSchema, depositView } from "./wallet-schemas";

/**
 * Checks the chain watcher's HMAC over the RAW body before anything parses it (re-serialized
 * JSON would not match). Reading it here caches it for the body validator.
 */
const verifySignature: MiddlewareHandler<AppEnv> = async (c, next) => {
  const raw = await c.req.text();
  verifyWebhook(
    c.env.DEPOSIT_WEBHOOK_SECRET,
    { timestamp: c.req.header("x-webhook-timestamp"), signature: c.req.header("x-webhook-signature") },
    raw,
  );
  await next();
};

const DepositNoticeSchema = z
  .strictObject({
    asset: z.string().min(1).max(10).openapi({ example: "BTC" }),
    tx_hash: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/),
    vout: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .openapi({ description: "Output index (log index for ERC-20)" }),
    address: z.string().min(1).max(100),
    amount: decimalAmount({ example: "0.25" }),
    confirmations: z.number().int().min(0).max(10_000_000),
  })
  .openapi("DepositNotice");

const depositWebhookRoute = routeGroup({ tags: ["Webhooks"] }).post("/webhooks/deposits", {
  summary: "Chain watcher: a deposit seen or confirmed (HMAC-signed, idempotent on asset + tx hash + vout)",
  description:
    "Headers: `X-Webhook-Timestamp` (Unix seconds, within 5 minutes) and `X-Webhook-Signature` = hex " +
    'HMAC-SHA256(DEPOSIT_WEBHOOK_SECRET, timestamp + "." + raw body). Credited once the asset\'s confirmations are reached.',
  middleware: [verifySignature],
  request: {
    headers: z.object({
      "x-webhook-timestamp": z.string().openapi({ param: { name: "x-webhook-timestamp", in: "header" } }),
      "x-webhook-signature": z.string().openapi({ param: { name: "x-webhook-signature", in: "header" } }),
    }),
    ...jsonBody(DepositNoticeSchema),
  },
  reply: {
    200: jsonReply(
      "Recorded; `credited` tells whether this notice credited the deposit",
      z.object({ deposit: DepositSchema, credited: z.boolean() }),
    ),
  },
  errors: [400, 401, 409, 422, 503],
});

export const depositWebhookRoutes = createRouter().openapi(depositWebhookRoute, async (c) => {
  const body = c.req.valid("json");
  const db = getDb(c);
  const outcome = await recordDepositNotice(
    db,
    {
      asset: body.asset,
      txHash: body.tx_hash,
      vout: body.vout,
      address: body.address,
      amount: body.amount,
      confirmations: body.confirmations,
    },
    requestMetadata(c),
  );
  relayEventsAfterResponse(c);
  const decimals = (await assetDecimals(db)).get(outcome.deposit.asset) ?? 0;
  return c.json({ deposit: depositView(outcome.deposit, decimals), credited: outcome.creditedNow }, 200);
});
