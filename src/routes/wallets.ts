import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { relayEventsAfterResponse } from "../http/after-response";
import type { AppEnv } from "../http/app-env";
import { requestMetadata } from "../http/request-metadata";
import { getDb, getRedis } from "../http/resources";
import { createRouter } from "../http/router";
import { decimalAmount, formatUnits } from "../lib/money";
import { authenticate } from "../middleware/authenticate";
import { assetDecimals, findAsset } from "../services/assets";
import { getDepositAddress } from "../services/deposit-addresses";
import { listUserDeposits } from "../services/deposits";
import { parseIdempotencyKey, runIdempotent } from "../services/idempotency";
import { getBalances, listUserPostings } from "../domain/ledger/ledger";
import { walletConfig } from "../services/wallet-config";
import { requestWithdrawal, transitionWithdrawal, type Actor } from "../services/withdrawals";
import { signedInRoutes } from "./route-group";
import { TotpCodeSchema, jsonBody, jsonReply } from "./user-schemas";
import {
  AssetParamSchema,
  BalanceSchema,
  DepositSchema,
  idempotencyKeyParameters,
  TransactionSchema,
  WithdrawalIdParamSchema,
  WithdrawalSchema,
  depositView,
  AssetCodeQuery,
  encodeTimeCursor,
  timeCursorParam,
  transactionView,
  withdrawalView,
  WithdrawalListQuery,
  withdrawalsPage,
} from "./wallet-schemas";
import { CursorPageQuery, cursorPage } from "../http/page-schemas";

const wallets = signedInRoutes(["Wallets"], [authenticate({ permission: "read" })]);
const canWithdraw = [authenticate({ permission: "withdraw" })];

function actorOf(c: Context<AppEnv>): Actor {
  const p = c.get("principal");
  return { id: p.userId, type: p.via === "api_key" ? "api_key" : "user" };
}

const balancesRoute = wallets.get("/wallets", {
  summary: "Balances in every asset (available and locked)",
  reply: { 200: jsonReply("Balances", z.object({ balances: z.array(BalanceSchema) })) },
});

const transactionsRoute = wallets.get("/wallets/transactions", {
  summary: "Ledger history of the caller's accounts, newest first (cursor pagination)",
  request: {
    query: z.object({
      asset: AssetCodeQuery,
      type: z
        .string()
        .regex(/^[a-z_.]{1,64}$/)
        .optional()
        .openapi({ example: "deposit" }),
      cursor: z
        .string()
        .regex(/^\d{1,19}$/)
        .refine(
          (s) => !/^\d{1,19}$/.test(s) || BigInt(s) <= 9_223_372_036_854_775_807n,
          "cursor out of range",
        )
        .optional(),
      limit: CursorPageQuery.limit,
    }),
  },
  reply: { 200: jsonReply("A page of postings", cursorPage("transactions", TransactionSchema)) },
  errors: [400],
});

const addressRoute = wallets.get("/wallets/{asset}/address", {
  summary:
    "The deposit address for an asset (BTC native segwit; ETH, USDT, USDC one checksummed Ethereum address)",
  request: { params: AssetParamSchema },
  reply: {
    200: jsonReply(
      "Deposit address, stable per user and chain",
      z.object({
        asset: z.string(),
        chain: z.enum(["bitcoin", "ethereum"]),
        address: z.string().openapi({ example: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" }),
        token_standard: z.enum(["ERC-20"]).nullable(),
        confirmations: z
          .number()
          .int()
          .openapi({ description: "Confirmations before a deposit is credited" }),
      }),
    ),
  },
  errors: [400, 404, 422, 503],
});

const WithdrawalBody = z
  .strictObject({
    asset: z.string().min(1).max(10).openapi({ example: "BTC" }),
    address: z.string().min(1).max(100).openapi({ example: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" }),
    amount: decimalAmount({ example: "0.01" }),
    totp_code: TotpCodeSchema.optional(),
  })
  .openapi("WithdrawalRequest");

const requestWithdrawalRoute = wallets.post("/wallets/withdrawals", {
  summary: "Request a withdrawal (KYC verified; API keys need `withdraw`); funds are locked at once",
  description:
    "With 2FA on, a signed-in user sends a fresh `totp_code` (403 `TWO_FACTOR_REQUIRED` / `INVALID_TWO_FACTOR_CODE`); signed API requests are exempt (a withdraw key was created with one and is bound to its IPs). Refused with 403 `WITHDRAWAL_HOLD` for 24 h after a password change or reset, a 2FA change, a new withdraw key or `allowlist_only` switched off; with `allowlist_only` on, 403 `ADDRESS_NOT_ALLOWLISTED` / `ADDRESS_NOT_YET_USABLE`. Waits for approval (`pending_approval`) once the rolling 24 h total of the asset passes its threshold, and always for an admin's own account or funds an admin credited in the last 30 days.",
  middleware: canWithdraw,
  parameters: idempotencyKeyParameters,
  request: jsonBody(WithdrawalBody),
  reply: {
    201: jsonReply(
      "Requested: `pending_approval` above the asset's threshold, otherwise `approved`",
      z.object({ withdrawal: WithdrawalSchema }),
    ),
  },
  errors: [400, 409, 422, 503],
});

const listWithdrawalsRoute = wallets.get("/wallets/withdrawals", {
  summary: "The caller's withdrawals, newest first",
  request: { query: WithdrawalListQuery },
  reply: { 200: jsonReply("A page of withdrawals", cursorPage("withdrawals", WithdrawalSchema)) },
  errors: [400],
});

const listDepositsRoute = wallets.get("/wallets/deposits", {
  summary: "The caller's deposits (pending until confirmed, then credited), newest first",
  request: {
    query: z.object({
      status: z.enum(["pending", "credited"]).optional(),
      asset: AssetCodeQuery,
      ...CursorPageQuery,
    }),
  },
  reply: { 200: jsonReply("A page of deposits", cursorPage("deposits", DepositSchema)) },
  errors: [400],
});

const cancelRoute = wallets.post("/wallets/withdrawals/{id}/cancel", {
  summary: "Cancel an own withdrawal that was not sent yet; the funds are released",
  middleware: canWithdraw,
  request: { params: WithdrawalIdParamSchema },
  reply: { 200: jsonReply("Cancelled (or already cancelled)", z.object({ withdrawal: WithdrawalSchema })) },
  errors: [400, 404, 409],
});

export const walletRoutes = createRouter()
  .openapi(balancesRoute, async (c) => {
    const rows = await getBalances(getDb(c), c.get("principal").userId);
    return c.json(
      {
        balances: rows.map((b) => ({
          asset: b.asset,
          available: formatUnits(b.available, b.decimals),
          locked: formatUnits(b.locked, b.decimals),
        })),
      },
      200,
    );
  })
  .openapi(transactionsRoute, async (c) => {
    const q = c.req.valid("query");
    const db = getDb(c);
    const page = await listUserPostings(db, c.get("principal").userId, {
      asset: q.asset,
      type: q.type,
      before: q.cursor ? BigInt(q.cursor) : undefined,
      limit: q.limit,
    });
    const decimals = await assetDecimals(db);
    return c.json(
      {
        transactions: page.items.map((i) => transactionView(i, decimals.get(i.asset) ?? 0)),
        next_cursor: page.nextCursor?.toString() ?? null,
      },
      200,
    );
  })
  .openapi(addressRoute, async (c) => {
    const { asset } = c.req.valid("param");
    const db = getDb(c);
    const config = walletConfig(c.env);
    const view = await getDepositAddress(db, c.env, config.bitcoinNetwork, c.get("principal").userId, asset);
    const details = await findAsset(db, asset, "path");
    return c.json(
      {
        asset: view.asset,
        chain: view.chain,
        address: view.address,
        token_standard: view.chain === "ethereum" && view.asset !== "ETH" ? ("ERC-20" as const) : null,
        confirmations: details.confirmations,
      },
      200,
    );
  })
  .openapi(requestWithdrawalRoute, async (c) => {
    const { totp_code, ...body } = c.req.valid("json");
    const key = parseIdempotencyKey(c.req.header("idempotency-key"), true)!;
    const principal = c.get("principal");
    // The 2FA code is not part of what the key identifies: a retry carries a fresh one.
    const { response, replayed } = await runIdempotent(
      getRedis(c),
      { scope: "withdrawal", caller: principal.userId, key, request: { path: "/wallets/withdrawals", body } },
      async () => {
        const { withdrawal } = await requestWithdrawal(
          getDb(c),
          walletConfig(c.env),
          { userId: principal.userId, ...body, idempotencyKey: key, totpCode: totp_code },
          actorOf(c),
          requestMetadata(c),
          { redis: getRedis(c), env: c.env },
        );
        relayEventsAfterResponse(c);
        return { status: 201, body: { withdrawal: withdrawalView(withdrawal) } };
      },
    );
    if (replayed) c.header("Idempotent-Replayed", "true");
    return c.json(response.body, 201);
  })
  .openapi(listWithdrawalsRoute, async (c) =>
    c.json(
      await withdrawalsPage(getDb(c), c.get("principal").userId, c.req.valid("query"), withdrawalView),
      200,
    ),
  )
  .openapi(listDepositsRoute, async (c) => {
    const q = c.req.valid("query");
    const before = timeCursorParam(q.cursor);
    const page = await listUserDeposits(getDb(c), c.get("principal").userId, {
      asset: q.asset,
      status: q.status,
      before,
      limit: q.limit,
    });
    return c.json(
      {
        deposits: page.items.map((d) => depositView(d, d.decimals)),
        next_cursor: encodeTimeCursor(page.next),
      },
      200,
    );
  })
  .openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid("param");
    const withdrawal = await transitionWithdrawal(
      getDb(c),
      "cancel",
      { withdrawalId: id, ownerId: c.get("principal").userId },
      actorOf(c),
      requestMetadata(c),
    );
    relayEventsAfterResponse(c);
    return c.json({ withdrawal: withdrawalView(withdrawal) }, 200);
  });
