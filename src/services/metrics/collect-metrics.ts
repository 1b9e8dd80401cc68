import type { Redis } from "@upstash/redis/cloudflare";
import { count, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { settlementQuarantine } from "../../db/schema";
import { pendingEventsQuery } from "../../domain/events/event-outbox";
import { describeError, type Logger } from "../../lib/logger";
import { mergeSnapshots, renderPrometheusText } from "../../lib/metrics/prometheus-text";
import type { MetricSnapshot } from "../../lib/metrics/registry";
import { workerRegistry } from "../../lib/metrics/worker-metrics";
import { withTimeout } from "../../lib/with-timeout";
import { loadAllMarketRules, orderBook } from "../trading/market-directory";
import { readReconciliationStatus } from "./reconciliation-status";
import { scrapeGauges } from "./scrape-gauges";

/** How long the scrape waits for one market's object (a busy book answers in milliseconds). */
const MARKET_TIMEOUT_MS = 5_000;

/**
 * Everything `GET /api/v1/admin/metrics` serves, in Prometheus' text format: this isolate's
 * Worker metrics, each market object's own counters (one RPC per market, in parallel), and the
 * gauges read from Postgres and Redis at scrape time.
 */
export async function collectMetrics(env: Env, db: Database, redis: Redis, log: Logger): Promise<string> {
  const gauges = scrapeGauges();
  const rules = await loadAllMarketRules(db);
  const [markets, quarantine, events, reconciliation] = await Promise.all([
    Promise.all(
      rules.map((r) =>
        withTimeout(orderBook(env, r.symbol).metrics(), MARKET_TIMEOUT_MS, "market metrics timed out").catch(
          (err: unknown) => {
            log.warn("market metrics unreadable", { market: r.symbol, ...describeError(err) });
            return null;
          },
        ),
      ),
    ),
    db
      .select({ market: settlementQuarantine.market, n: count() })
      .from(settlementQuarantine)
      .where(eq(settlementQuarantine.status, "open"))
      .groupBy(settlementQuarantine.market),
    db.execute<{ n: string; oldest: string | null }>(pendingEventsQuery()).then((r) => r.rows),
    readReconciliationStatus(redis).catch((err: unknown) => {
      log.warn("reconciliation status unreadable", describeError(err));
      return null;
    }),
  ]);

  const open = new Map(quarantine.map((q) => [q.market, q.n]));
  for (const r of rules) gauges.quarantineOpen.series(r.symbol).set(open.get(r.symbol) ?? 0);
  const pending = events[0];
  gauges.eventBacklog.series().set(Number(pending?.n ?? 0));
  const oldest = pending?.oldest ? new Date(pending.oldest).getTime() : null;
  gauges.eventOldest.series().set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
  if (reconciliation) {
    gauges.reconciliationOk.series().set(reconciliation.ok ? 1 : 0);
    gauges.reconciliationAt.series().set(Math.floor(reconciliation.at / 1000));
    for (const [kind, n] of Object.entries(reconciliation.kinds)) {
      gauges.reconciliationMismatches.series(kind).set(n);
    }
  }
  gauges.marketsUnreadable.series().set(markets.filter((m) => m === null).length);

  const groups: MetricSnapshot[][] = [workerRegistry.snapshot(), gauges.registry.snapshot()];
  for (const m of markets) if (m) groups.push(m);
  return renderPrometheusText(mergeSnapshots(groups));
}
