import { z } from "@hono/zod-openapi";
import type { Database } from "../db/client";
import type { TimeCursor } from "../db/keyset";
import { withdrawalStatus } from "../db/schema";
import { CursorPageQuery } from "../http/page-schemas";
import { badRequest } from "../lib/errors";
import { formatUnits } from "../lib/money";
import type { Deposit } from "../services/deposits";
import type { LedgerHistoryItem } from "../domain/ledger/ledger";
import { listWithdrawals, type WithdrawalWithDecimals } from "../services/withdrawals";

/** Shapes of the wallet API: every amount a decimal string with exactly the asset's decimals. */

const Amount = (example: string) => z.string().openapi({ example });
const Timestamp = z.string().openapi({ example: "2026-11-22T03:22:00.000Z" });

export const AssetParamSchema = z.object({
  asset: z
    .string()
    .regex(/^[A-Za-z0-9]{2,10}$/)
    .transform((s) => s.toUpperCase())
    .openapi({ param: { name: "asset", in: "path" }, example: "BTC" }),
});

export const WithdrawalIdParamSchema = z.object({
  id: z.uuid().openapi({ param: { name: "id", in: "path" } }),
});

/**
 * The optional `Idempotency-Key` header, as /openapi.json lists it. Documented, not validated by
 * the router: any header value is a string, so a validator would refuse nothing, yet it copied
 * every header of the request into an object on each call; the routes parse the key themselves
 * (`parseIdempotencyKey`).
 */
export const idempotencyKeyParameters = [
  {
    schema: {
      type: "string" as const,
      description: "8-128 characters; the first response is replayed for 24 hours",
      example: "4f9d2c1e-withdraw-1",
    },
    required: false,
    description: "8-128 characters; the first response is replayed for 24 hours",
    name: "idempotency-key",
    in: "header" as const,
  },
];

export const BalanceSchema = z
  .object({
    asset: z.string().openapi({ example: "BTC" }),
    available: Amount("0.10000000"),
    locked: Amount("0.00000000"),
  })
  .openapi("Balance");

export const WithdrawalStatusSchema = z.enum(withdrawalStatus.enumValues);

export const WithdrawalSchema = z
  .object({
    id: z.uuid(),
    asset: z.string(),
    address: z.string(),
    amount: Amount("0.01000000").openapi({ description: "Debited from the balance" }),
    fee: Amount("0.00010000"),
    net_amount: Amount("0.00990000").openapi({ description: "What the address receives (amount − fee)" }),
    status: WithdrawalStatusSchema,
    tx_hash: z.string().nullable(),
    reason: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    sent_at: Timestamp.nullable(),
    completed_at: Timestamp.nullable(),
  })
  .openapi("Withdrawal");

export const AdminWithdrawalSchema = WithdrawalSchema.extend({
  user_id: z.uuid(),
  reviewed_by: z.uuid().nullable(),
}).openapi("AdminWithdrawal");

export function withdrawalView(w: WithdrawalWithDecimals): z.infer<typeof WithdrawalSchema> {
  return {
    id: w.id,
    asset: w.asset,
    address: w.address,
    amount: formatUnits(w.amount, w.decimals),
    fee: formatUnits(w.fee, w.decimals),
    net_amount: formatUnits(w.amount - w.fee, w.decimals),
    status: w.status,
    tx_hash: w.txHash,
    reason: w.reason,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
    sent_at: w.sentAt?.toISOString() ?? null,
    completed_at: w.completedAt?.toISOString() ?? null,
  };
}

export function adminWithdrawalView(w: WithdrawalWithDecimals): z.infer<typeof AdminWithdrawalSchema> {
  return { ...withdrawalView(w), user_id: w.userId, reviewed_by: w.reviewedBy };
}

export const TransactionSchema = z
  .object({
    id: z.string().openapi({ description: "Posting id (use as `cursor` to page on)" }),
    entry_id: z.string(),
    type: z.string().openapi({ example: "deposit" }),
    reference: z.string(),
    account: z.enum(["available", "locked"]),
    asset: z.string(),
    amount: Amount("-0.01000000").openapi({ description: "Signed: negative leaves the account" }),
    created_at: Timestamp,
  })
  .openapi("LedgerTransaction");

export function transactionView(
  item: LedgerHistoryItem,
  decimals: number,
): z.infer<typeof TransactionSchema> {
  return {
    id: item.id.toString(),
    entry_id: item.entryId.toString(),
    type: item.type,
    reference: item.reference,
    account: item.account === "user_available" ? "available" : "locked",
    asset: item.asset,
    amount: formatUnits(item.amount, decimals),
    created_at: item.createdAt.toISOString(),
  };
}

export const DepositSchema = z
  .object({
    id: z.uuid(),
    asset: z.string(),
    tx_hash: z.string(),
    vout: z.number().int(),
    amount: Amount("0.25000000"),
    confirmations: z.number().int(),
    status: z.enum(["pending", "credited"]),
    credited_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi("Deposit");

export function depositView(d: Deposit, decimals: number): z.infer<typeof DepositSchema> {
  return {
    id: d.id,
    asset: d.asset,
    tx_hash: d.txHash,
    vout: d.vout,
    amount: formatUnits(d.amount, decimals),
    confirmations: d.confirmations,
    status: d.status,
    credited_at: d.creditedAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
  };
}

export const AssetCodeQuery = z
  .string()
  .regex(/^[A-Z0-9]{2,10}$/)
  .optional();

/** The decoded `cursor` query parameter; a malformed one is a 400. */
export function timeCursorParam(cursor: string | undefined): TimeCursor | undefined {
  const decoded = decodeTimeCursor(cursor);
  if (decoded === null) throw badRequest("Invalid cursor");
  return decoded;
}

/** Opaque keyset cursor over (created_at, id). */
export function encodeTimeCursor(next: TimeCursor | null): string | null {
  return next ? btoa(`${next.createdAt.toISOString()}|${next.id}`).replaceAll("=", "") : null;
}

/** The query of a withdrawals listing (an admin's adds `user_id`). */
export const WithdrawalListQuery = z.object({
  status: WithdrawalStatusSchema.optional(),
  asset: AssetCodeQuery,
  ...CursorPageQuery,
});

/** A page of withdrawals as both listings answer it: the caller's own, or an admin's of any user's. */
export async function withdrawalsPage<V>(
  db: Database,
  userId: string | undefined,
  q: z.infer<typeof WithdrawalListQuery>,
  view: (w: WithdrawalWithDecimals) => V,
) {
  const page = await listWithdrawals(db, {
    userId,
    asset: q.asset,
    status: q.status,
    before: timeCursorParam(q.cursor),
    limit: q.limit,
  });
  return { withdrawals: page.items.map(view), next_cursor: encodeTimeCursor(page.next) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeTimeCursor(
  cursor: string | undefined,
): { createdAt: Date; id: string } | undefined | null {
  if (!cursor) return undefined;
  try {
    const [iso, id] = atob(cursor).split("|");
    const createdAt = new Date(iso ?? "");
    if (Number.isNaN(createdAt.getTime()) || !id || !UUID.test(id)) return null;
    // Beyond year 9999 toISOString() writes "+010000-..." which Postgres cannot read.
    const year = createdAt.getUTCFullYear();
    if (year < 1 || year > 9999) return null;
    return { createdAt, id };
  } catch {
    return null;
  }
}
