import { z, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { relayEventsAfterResponse } from "../http/after-response";
import type { AppEnv } from "../http/app-env";
import { requestMetadata } from "../http/request-metadata";
import { getDb, getRedis } from "../http/resources";
import { createRouter } from "../http/router";
import { decimalAmount, formatUnits } from "../lib/money";
import { adjustBalance } from "../services/adjustments";
import { parseIdempotencyKey, runIdempotent } from "../services/idempotency";
import { countByKind, reconcile, serializeMismatch } from "../services/reconciliation";
import { bookReader } from "../services/trading/book-report";
import { transitionWithdrawal, type Actor } from "../services/withdrawals";
import { adminOnlyRoutes } from "./route-group";
import { jsonBody, jsonReply } from "./user-schemas";
import {
  AdminWithdrawalSchema,
  idempotencyKeyParameters,
  WithdrawalIdParamSchema,
  WithdrawalListQuery,
  adminWithdrawalView,
  withdrawalsPage,
} from "./wallet-schemas";
import { cursorPage } from "../http/page-schemas";

const adminWallets = adminOnlyRoutes(["Administration: wallets"]);
const admin = (c: Context<AppEnv>): Actor => ({ id: c.get("principal").userId, type: "admin" });

/** One admin move of a withdrawal's state machine, announced after the response. */
async function transition(
  c: Context<AppEnv>,
  action: Parameters<typeof transitionWithdrawal>[1],
  input: Parameters<typeof transitionWithdrawal>[2],
) {
  const w = await transitionWithdrawal(getDb(c), action, input, admin(c), requestMetadata(c));
  relayEventsAfterResponse(c);
  return { withdrawal: adminWithdrawalView(w) };
}

const listRoute = adminWallets.get("/admin/withdrawals", {
  summary: "Withdrawals of all users (e.g. `status=pending_approval` is the approval queue)",
  request: {
    query: WithdrawalListQuery.extend({ user_id: z.uuid().optional() }),
  },
  reply: { 200: jsonReply("A page of withdrawals", cursorPage("withdrawals", AdminWithdrawalSchema)) },
  errors: [400],
});

function transitionRoute<R extends RouteConfig["request"]>(
  action: "approve" | "complete" | "reject" | "sent",
  summary: string,
  request: R,
) {
  return adminWallets.post(`/admin/withdrawals/{id}/${action}`, {
    summary,
    request,
    reply: {
      200: jsonReply(
        "The withdrawal after the transition (repeating a done transition changes nothing)",
        z.object({ withdrawal: AdminWithdrawalSchema }),
      ),
    },
    errors: [400, 404, 409, 422],
  });
}

const byId = { params: WithdrawalIdParamSchema };
const approveRoute = transitionRoute("approve", "Approve a withdrawal waiting for approval", byId);
const completeRoute = transitionRoute("complete", "Mark a sent withdrawal as confirmed on chain", byId);
const rejectRoute = transitionRoute("reject", "Reject a withdrawal not yet sent; its funds are released", {
  ...byId,
  ...jsonBody(z.strictObject({ reason: z.string().trim().min(1).max(500) })),
});
const sentRoute = transitionRoute(
  "sent",
  "Record the broadcast transaction; the funds leave the ledger (amount − fee out, fee to income)",
  { ...byId, ...jsonBody(z.strictObject({ tx_hash: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/) })) },
);

const adjustmentRoute = adminWallets.post("/admin/wallets/adjustments", {
  summary: "Credit (positive) or debit (negative) a user's available balance, with a reason (audited)",
  parameters: idempotencyKeyParameters,
  request: {
    ...jsonBody(
      z.strictObject({
        user_id: z.uuid(),
        asset: z.string().min(1).max(10),
        amount: decimalAmount({ signed: true, example: "-0.5" }),
        reason: z.string().trim().min(3).max(500),
      }),
    ),
  },
  reply: {
    201: jsonReply(
      "Applied",
      z.object({
        adjustment: z.object({
          entry_id: z.string(),
          user_id: z.uuid(),
          asset: z.string(),
          amount: z.string(),
          balance: z.object({ available: z.string(), locked: z.string() }),
        }),
      }),
    ),
  },
  errors: [400, 404, 409, 422, 503],
});

const reconciliationRoute = adminWallets.get("/admin/reconciliation", {
  summary:
    "Check now: the ledger balances, every lock is held by what it is for, fee income equals the fees charged, the order books hold the orders open in Postgres",
  description:
    "One consistent snapshot. Each mismatch has a stable `kind` (ledger: `asset_not_zero`, `entry_unbalanced`, " +
    "`balance_mismatch`, `negative_balance`; locks: `locked_mismatch`, `closed_order_lock`; fees: " +
    "`fee_income_mismatch`; books: `order_not_in_book`, `book_order_not_open`, `book_unreadable`), at most 100 " +
    "rows per kind; amounts in minor units. `checks` lists the families that ran.",
  reply: {
    200: jsonReply(
      "The report (`ok: false` lists the mismatches)",
      z.object({
        ok: z.boolean(),
        checked_at: z.string(),
        checks: z.array(z.enum(["ledger", "locks", "fees", "books"])),
        assets: z.array(
          z.object({
            asset: z.string(),
            sum: z.string(),
            accounts: z.record(z.string(), z.string()),
          }),
        ),
        mismatches: z.array(z.record(z.string(), z.unknown())),
      }),
    ),
  },
});

export const adminWalletRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const { user_id, ...q } = c.req.valid("query");
    return c.json(await withdrawalsPage(getDb(c), user_id, q, adminWithdrawalView), 200);
  })
  .openapi(approveRoute, async (c) =>
    c.json(await transition(c, "approve", { withdrawalId: c.req.valid("param").id }), 200),
  )
  .openapi(rejectRoute, async (c) =>
    c.json(
      await transition(c, "reject", {
        withdrawalId: c.req.valid("param").id,
        reason: c.req.valid("json").reason,
      }),
      200,
    ),
  )
  .openapi(sentRoute, async (c) =>
    c.json(
      await transition(c, "sent", {
        withdrawalId: c.req.valid("param").id,
        txHash: c.req.valid("json").tx_hash.toLowerCase(),
      }),
      200,
    ),
  )
  .openapi(completeRoute, async (c) =>
    c.json(await transition(c, "complete", { withdrawalId: c.req.valid("param").id }), 200),
  )
  .openapi(adjustmentRoute, async (c) => {
    const body = c.req.valid("json");
    const key = parseIdempotencyKey(c.req.header("idempotency-key"), false);
    const adminId = c.get("principal").userId;
    const run = async () => {
      const result = await adjustBalance(
        getDb(c),
        {
          userId: body.user_id,
          asset: body.asset,
          amount: body.amount,
          reason: body.reason,
          reference: key ? `${adminId}:${key}` : undefined,
        },
        adminId,
        requestMetadata(c),
      );
      relayEventsAfterResponse(c);
      const fmt = (v: bigint) => formatUnits(v, result.decimals);
      return {
        status: 201,
        body: {
          adjustment: {
            entry_id: result.entryId.toString(),
            user_id: body.user_id,
            asset: result.asset,
            amount: fmt(result.amount),
            balance: { available: fmt(result.balance.available), locked: fmt(result.balance.locked) },
          },
        },
      };
    };
    const { response, replayed } = key
      ? await runIdempotent(getRedis(c), { scope: "adjustment", caller: adminId, key, request: body }, run)
      : { response: await run(), replayed: false };
    if (replayed) c.header("Idempotent-Replayed", "true");
    return c.json(response.body, 201);
  })
  .openapi(reconciliationRoute, async (c) => {
    const report = await reconcile(getDb(c), { readBook: bookReader(c.env) });
    if (!report.ok) {
      c.get("log").error("ledger reconciliation mismatch", {
        kinds: countByKind(report.mismatches),
        mismatches: report.mismatches.map(serializeMismatch),
      });
    }
    return c.json(
      {
        ok: report.ok,
        checked_at: report.checkedAt.toISOString(),
        checks: report.checks,
        assets: report.assets.map((a) => ({
          asset: a.asset,
          sum: formatUnits(a.sum, a.decimals),
          accounts: Object.fromEntries(
            Object.entries(a.accounts).map(([k, v]) => [k, formatUnits(v, a.decimals)]),
          ),
        })),
        mismatches: report.mismatches.map(serializeMismatch),
      },
      200,
    );
  });
