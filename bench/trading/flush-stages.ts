// Where the market object's ack time goes during a load: the `pandora_market_flush_*`
// histograms (durable-objects/market/metrics.ts) scraped from GET /api/v1/admin/metrics before and
// after the load, each stage's mean and p95 bucket over the load's flushes.

const STAGE = "pandora_market_flush_stage_seconds";
const GROUP = "pandora_market_flush_commands";

interface Histogram {
  sum: number;
  count: number;
  /** Cumulative counts by upper bound, as exposed. */
  buckets: Map<string, number>;
}

/** The market's flush histograms: one per stage, and the group size under the key `commands`. */
export type FlushScrape = Map<string, Histogram>;

const LINE = /^(\w+)_(sum|count|bucket)\{([^}]*)\} (\S+)$/;

/** Parses the market's flush histograms out of the Prometheus text. */
export function flushHistograms(text: string, market: string): FlushScrape {
  const out: FlushScrape = new Map();
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (!m || (m[1] !== STAGE && m[1] !== GROUP)) continue;
    const labels = Object.fromEntries([...m[3]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (labels.market !== market) continue;
    const key = m[1] === GROUP ? "commands" : labels.stage!;
    const h = out.get(key) ?? { sum: 0, count: 0, buckets: new Map<string, number>() };
    const value = Number(m[4]);
    if (m[2] === "sum") h.sum = value;
    else if (m[2] === "count") h.count = value;
    else h.buckets.set(labels.le!, value);
    out.set(key, h);
  }
  return out;
}

/** The smallest bucket bound holding `share` of the load's observations. */
function bound(before: Histogram | undefined, after: Histogram, share: number): string {
  const total = after.count - (before?.count ?? 0);
  for (const [le, n] of after.buckets) {
    if (n - (before?.buckets.get(le) ?? 0) >= share * total) return le;
  }
  return "+Inf";
}

/**
 * One line for the load: each stage's mean ms (p95 and p99 ≤ bucket) over its flushes, and the
 * mean commands a flush carried. `queue` is per call (a frame or a request), the others per flush.
 * The ack's tail is read in the stages' p99: which of them holds the slow answers.
 */
export function describeFlushes(before: FlushScrape, after: FlushScrape): string {
  const parts: string[] = [];
  for (const [key, h] of after) {
    const b = before.get(key);
    const count = h.count - (b?.count ?? 0);
    if (count <= 0) continue;
    const mean = (h.sum - (b?.sum ?? 0)) / count;
    const [p95, p99] = [bound(b, h, 0.95), bound(b, h, 0.99)];
    const ms = (le: string) => (le === "+Inf" ? le : `${Number(le) * 1000}`);
    parts.push(
      key === "commands"
        ? `${count} flushes of ${mean.toFixed(1)} commands (p95 ≤ ${p95}, p99 ≤ ${p99})`
        : `${key} ${(mean * 1000).toFixed(2)} ms (p95 ≤ ${ms(p95)}, p99 ≤ ${ms(p99)} ms)`,
    );
  }
  return parts.join("; ") || "no flushes";
}
