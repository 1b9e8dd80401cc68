import { and, count, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client";
import { settlementQuarantine } from "../../db/schema";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, notFound } from "../../lib/errors";
import { recordAudit } from "../../domain/audit-log";
import { loadMarketRules } from "./market-directory";
import { isInvariantBreach, reasonOf } from "../../domain/settlement/settlement-errors";
import { planSettlement, type OutboxEntry } from "../../domain/settlement/plan";
import { lockBatch } from "../../domain/settlement/reads";
import { writePlan } from "../../domain/settlement/writes";

export type QuarantineStatus = "open" | "settled";

export interface QuarantineView {
  id: string;
  market: string;
  seq: number;
  epoch: string | null;
  entry: Record<string, unknown>;
  reason: string;
  status: QuarantineStatus;
  created_at: string;
  resolved_at: string | null;
  resolved_by: string | null;
}

type Row = typeof settlementQuarantine.$inferSelect;

function view(r: Row): QuarantineView {
  return {
    id: r.id.toString(),
    market: r.market,
    seq: r.seq,
    epoch: r.epoch,
    entry: r.entry,
    reason: r.reason,
    status: r.status,
    created_at: r.createdAt.toISOString(),
    resolved_at: r.resolvedAt?.toISOString() ?? null,
    resolved_by: r.resolvedBy,
  };
}

/** Quarantined settlement entries, newest first (paginated like the other admin lists). */
export async function listQuarantine(
  db: Database,
  filter: { market?: string; status?: QuarantineStatus },
  page: { page: number; page_size: number },
): Promise<{ entries: QuarantineView[]; page: number; page_size: number; total: number }> {
  const conditions: SQL[] = [];
  if (filter.market) conditions.push(eq(settlementQuarantine.market, filter.market));
  if (filter.status) conditions.push(eq(settlementQuarantine.status, filter.status));
  const where = and(...conditions);
  const [rows, totals] = await Promise.all([
    db
      .select()
      .from(settlementQuarantine)
      .where(where)
      .orderBy(desc(settlementQuarantine.id))
      .limit(page.page_size)
      .offset((page.page - 1) * page.page_size),
    db.select({ n: count() }).from(settlementQuarantine).where(where),
  ]);
  return { entries: rows.map(view), page: page.page, page_size: page.page_size, total: totals[0]?.n ?? 0 };
}

/**
 * Settles a quarantined entry now, if it has become valid (e.g. the missing order was restored):
 * planned against the orders as they are, written in one transaction with the row marked
 * `settled` and the audit entry, so a second retry finds it settled and moves nothing. The
 * cursor is not touched: it passed the entry when it was quarantined. Still invalid → 409 with
 * the reason, nothing changed.
 */
export async function retryQuarantined(
  db: Database,
  id: string,
  adminId: string,
  metadata: RequestMetadata,
): Promise<QuarantineView> {
  const [found] = await db
    .select()
    .from(settlementQuarantine)
    .where(eq(settlementQuarantine.id, BigInt(id)));
  if (!found) throw notFound("Quarantined entry");
  const rules = await loadMarketRules(db, found.market, true);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(settlementQuarantine)
      .where(eq(settlementQuarantine.id, BigInt(id)))
      .for("update");
    if (row!.status !== "open") {
      throw new AppError(409, ErrorCode.CONFLICT, "This entry was settled already", { id });
    }
    const entry = row!.entry as unknown as OutboxEntry;
    const locked = (await lockBatch(tx, row!.market, [entry], { wait: true, cursor: false }))!;
    const plan = planSettlement(rules, [entry], locked.known, 0, locked.settled);
    const refused = (reason: string) =>
      new AppError(409, ErrorCode.CONFLICT, `The entry still cannot settle: ${reason}`, { id, reason });
    if (plan.quarantined.length > 0) throw refused(plan.quarantined[0]!.reason);
    try {
      await writePlan(tx, rules, plan, { reference: `${row!.market}:quarantine:${id}` });
    } catch (err) {
      if (isInvariantBreach(err)) throw refused(reasonOf(err));
      throw err;
    }
    const [settled] = await tx
      .update(settlementQuarantine)
      .set({ status: "settled", resolvedAt: sql`now()`, resolvedBy: adminId })
      .where(eq(settlementQuarantine.id, BigInt(id)))
      .returning();
    await recordAudit(tx, {
      actorId: adminId,
      actorType: "admin",
      action: "settlement.quarantine.retry",
      resourceType: "settlement_quarantine",
      resourceId: id,
      details: { market: row!.market, seq: row!.seq, kind: entry.kind, trades: plan.trades.length },
      metadata,
    });
    return view(settled!);
  });
}
