import { and, eq, isNull } from "drizzle-orm";
import { apiKeys, users } from "../../db/schema";
import { defaultOrderLimits, effectiveOrderLimits, type OrderLimits } from "../../domain/market/order-limits";
import { notFound } from "../../lib/errors";
import { recordAudit } from "../../domain/audit-log";
import { afterCommit, type ServiceContext } from "../auth/context";
import { overwriteSnapshots } from "../auth/session-cache";
import { liveSessionIds } from "../auth/sessions";
import { toUserView } from "../../domain/auth/user-view";

/** An account's or key's own limits as the API shows them: null = inherited. */
export interface OrderLimitsSetting {
  per_10s: number | null;
  per_day: number | null;
}

export interface OrderLimitsView {
  /** What applies now, inherited values filled in. */
  effective: { per_10s: number; per_day: number };
  own: OrderLimitsSetting;
}

const view = (effective: OrderLimits, own: OrderLimitsSetting): OrderLimitsView => ({
  effective: { per_10s: effective.per10s, per_day: effective.perDay },
  own,
});

/** The account's limits: its own, else the exchange's defaults. */
export async function setUserOrderLimits(
  ctx: ServiceContext,
  userId: string,
  own: OrderLimitsSetting,
  actorId: string,
): Promise<OrderLimitsView> {
  const done = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ orderLimitPer10s: own.per_10s, orderLimitPerDay: own.per_day, updatedAt: new Date() })
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .returning();
    if (!row) throw notFound("User");
    await recordAudit(tx, {
      actorId,
      actorType: "admin",
      action: "user.order_limits.update",
      resourceType: "user",
      resourceId: userId,
      details: { ...own },
      metadata: ctx.metadata,
    });
    return { row, sessionIds: await liveSessionIds(tx, userId) };
  });
  // Live sessions pick the new limits up at once (sockets at their next `auth`).
  await afterCommit(ctx, "order limits", () =>
    overwriteSnapshots(ctx.redis, done.sessionIds, toUserView(done.row)),
  );
  return view(effectiveOrderLimits(defaultOrderLimits(ctx.env), toOverrides(own)), own);
}

/** An API key's limits: its own, else its account's, else the exchange's defaults. */
export async function setApiKeyOrderLimits(
  ctx: ServiceContext,
  keyId: string,
  own: OrderLimitsSetting,
  actorId: string,
): Promise<OrderLimitsView> {
  return ctx.db.transaction(async (tx) => {
    const [key] = await tx
      .update(apiKeys)
      .set({ orderLimitPer10s: own.per_10s, orderLimitPerDay: own.per_day })
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
      .returning({ userId: apiKeys.userId });
    if (!key) throw notFound("API key");
    const [account] = await tx
      .select({ per10s: users.orderLimitPer10s, perDay: users.orderLimitPerDay })
      .from(users)
      .where(eq(users.id, key.userId));
    await recordAudit(tx, {
      actorId,
      actorType: "admin",
      action: "api_key.order_limits.update",
      resourceType: "api_key",
      resourceId: keyId,
      details: { ...own, user_id: key.userId },
      metadata: ctx.metadata,
    });
    return view(effectiveOrderLimits(defaultOrderLimits(ctx.env), toOverrides(own), account), own);
  });
}

const toOverrides = (own: OrderLimitsSetting) => ({ per10s: own.per_10s, perDay: own.per_day });
