import { MarketMetrics } from "../../durable-objects/market/metrics";
import { workerRegistry } from "../../src/lib/metrics/worker-metrics";
import { scrapeGauges } from "../../src/services/metrics/scrape-gauges";

/**
 * Every metric GET /api/v1/admin/metrics can serve, by name and type: the Worker's registry,
 * the scrape-time gauges and a market object's set (built from the same code that renders them).
 */
export function metricCatalog(): Map<string, string> {
  const market = new MarketMetrics().snapshot("", {
    backlog: 0,
    sockets: 0,
    framesSent: 0,
    framesReceived: 0,
    openOrders: 0,
    status: null,
  });
  const all = [...workerRegistry.snapshot(), ...scrapeGauges().registry.snapshot(), ...market];
  return new Map(all.map((m) => [m.name, m.type]));
}
