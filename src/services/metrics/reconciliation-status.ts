import type { Redis } from "@upstash/redis/cloudflare";

/** The last reconciliation's outcome, kept for the metrics scrape (the cron and the scrape run apart). */
export interface ReconciliationStatus {
  ok: boolean;
  mismatches: number;
  kinds: Record<string, number>;
  /** Unix milliseconds of the run. */
  at: number;
}

const KEY = "pandora:metrics:reconciliation";
/** Kept a day: a status older than the cron's interval already says the cron stopped. */
const TTL_SECONDS = 86_400;

export async function saveReconciliationStatus(redis: Redis, status: ReconciliationStatus): Promise<void> {
  await redis.set(KEY, JSON.stringify(status), { ex: TTL_SECONDS });
}

export async function readReconciliationStatus(redis: Redis): Promise<ReconciliationStatus | null> {
  const raw = await redis.get<ReconciliationStatus | string>(KEY);
  if (raw === null) return null;
  return typeof raw === "string" ? (JSON.parse(raw) as ReconciliationStatus) : raw;
}
