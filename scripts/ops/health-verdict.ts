import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** What the gate reads of one scrape of GET /api/v1/admin/metrics. */
export interface HealthSample {
  requests: number;
  serverErrors: number;
  haltedMarkets: string[];
  quarantined: number;
  reconciliationOk: boolean | null;
  unreadableMarkets: number;
  backlog: Record<string, number>;
}

export interface GateLimits {
  /** Largest share of 5xx among the requests a scrape counted (0.02: 2%). */
  maxErrorRatio: number;
  /** Fewer requests than this in a scrape say nothing about its error ratio. */
  minRequests: number;
  /** A market's settlement backlog above this that also grew during the step fails the gate. */
  maxBacklog: number;
}

export const DEFAULT_LIMITS: GateLimits = { maxErrorRatio: 0.02, minRequests: 50, maxBacklog: 1000 };

const num = (v: string | undefined) => (v === undefined ? 0 : Number(v));

export function readSample(text: string): HealthSample {
  const families = parsePrometheusTextFormat(text);
  const metrics = (name: string) => families.find((f) => f.name === name)?.metrics ?? [];
  let requests = 0;
  let serverErrors = 0;
  for (const m of metrics("pandora_http_requests_total")) {
    requests += num(m.value);
    if (m.labels?.status?.startsWith("5")) serverErrors += num(m.value);
  }
  const reconciliation = metrics("pandora_reconciliation_ok")[0];
  return {
    requests,
    serverErrors,
    haltedMarkets: metrics("pandora_market_status")
      .filter((m) => m.labels?.status === "halted" && num(m.value) === 1)
      .map((m) => m.labels!.market!),
    quarantined: metrics("pandora_settlement_quarantine_open").reduce((a, m) => a + num(m.value), 0),
    reconciliationOk: reconciliation ? num(reconciliation.value) === 1 : null,
    unreadableMarkets: num(metrics("pandora_market_scrape_failures")[0]?.value),
    backlog: Object.fromEntries(
      metrics("pandora_settlement_backlog").map((m) => [m.labels?.market ?? "", num(m.value)]),
    ),
  };
}

/**
 * Whether a rollout step may go on: compares the new version's scrapes with the baseline taken
 * before the step. Returns the reasons to roll back (none: healthy). Worker counters are per
 * isolate, so the error ratio is judged per scrape; market numbers are exact (one object each).
 */
export function judge(
  baseline: HealthSample,
  samples: readonly HealthSample[],
  limits: GateLimits = DEFAULT_LIMITS,
): string[] {
  const reasons: string[] = [];
  if (samples.length === 0) return ["the new version answered no scrape"];
  for (const s of samples) {
    if (s.requests >= limits.minRequests && s.serverErrors / s.requests > limits.maxErrorRatio) {
      reasons.push(`${s.serverErrors} of ${s.requests} requests answered 5xx`);
      break;
    }
  }
  const last = samples[samples.length - 1]!;
  const newlyHalted = last.haltedMarkets.filter((m) => !baseline.haltedMarkets.includes(m));
  if (newlyHalted.length) reasons.push(`markets halted during the step: ${newlyHalted.join(", ")}`);
  if (last.quarantined > baseline.quarantined) {
    reasons.push(`settlement quarantined ${last.quarantined - baseline.quarantined} new entries`);
  }
  if (baseline.reconciliationOk !== false && last.reconciliationOk === false) {
    reasons.push("reconciliation found mismatches");
  }
  if (last.unreadableMarkets > 0) reasons.push(`${last.unreadableMarkets} market objects did not answer`);
  const first = samples[0]!;
  for (const [market, backlog] of Object.entries(last.backlog)) {
    if (backlog > limits.maxBacklog && backlog > (first.backlog[market] ?? 0)) {
      reasons.push(`${market}: settlement backlog ${backlog} and growing`);
    }
  }
  return reasons;
}
