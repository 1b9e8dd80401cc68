import { Registry } from "../../lib/metrics/registry";

/**
 * Gauges read from Postgres and Redis at each scrape (state the cron or settlement leaves there,
 * not events an isolate could count): quarantined settlement entries, the domain-event relay's
 * backlog, the last reconciliation's outcome, markets whose object did not answer the scrape.
 */
export function scrapeGauges() {
  const registry = new Registry();
  return {
    registry,
    quarantineOpen: registry.gauge(
      "pandora_settlement_quarantine_open",
      "Settlement entries quarantined and not yet resolved, by market",
      ["market"],
    ),
    eventBacklog: registry.gauge(
      "pandora_event_outbox_backlog",
      "Domain events committed in Postgres and not yet relayed to their Redis stream",
    ),
    eventOldest: registry.gauge(
      "pandora_event_outbox_oldest_age_seconds",
      "Age of the oldest domain event not yet relayed (0 when none waits)",
    ),
    reconciliationOk: registry.gauge(
      "pandora_reconciliation_ok",
      "1 when the last reconciliation found the ledger, locks, fees and books consistent, else 0",
    ),
    reconciliationMismatches: registry.gauge(
      "pandora_reconciliation_mismatches",
      "Mismatches the last reconciliation found, by kind",
      ["kind"],
    ),
    reconciliationAt: registry.gauge(
      "pandora_reconciliation_last_run_timestamp_seconds",
      "When the last reconciliation ran (Unix seconds)",
    ),
    marketsUnreadable: registry.gauge(
      "pandora_market_scrape_failures",
      "Market objects that did not answer this scrape within its timeout",
    ),
  };
}
