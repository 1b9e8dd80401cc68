import { describe, expect, it } from "vitest";
import { judge, readSample, type HealthSample } from "../../../scripts/ops/health-verdict";

const healthy: HealthSample = {
  requests: 1000,
  serverErrors: 2,
  haltedMarkets: [],
  quarantined: 0,
  reconciliationOk: true,
  unreadableMarkets: 0,
  backlog: { "BTC-USDT": 3 },
};

describe("deploy health gate", () => {
  it("reads the numbers it judges from a scrape", () => {
    const sample = readSample(
      [
        "# TYPE pandora_http_requests_total counter",
        'pandora_http_requests_total{route="/a",method="GET",status="200"} 90',
        'pandora_http_requests_total{route="/a",method="GET",status="503"} 10',
        "# TYPE pandora_market_status gauge",
        'pandora_market_status{market="BTC-USDT",status="halted"} 1',
        'pandora_market_status{market="ETH-USDT",status="halted"} 0',
        "# TYPE pandora_settlement_quarantine_open gauge",
        'pandora_settlement_quarantine_open{market="BTC-USDT"} 2',
        "# TYPE pandora_reconciliation_ok gauge",
        "pandora_reconciliation_ok 0",
        "# TYPE pandora_settlement_backlog gauge",
        'pandora_settlement_backlog{market="BTC-USDT"} 7',
        "",
      ].join("\n"),
    );
    expect(sample).toEqual({
      requests: 100,
      serverErrors: 10,
      haltedMarkets: ["BTC-USDT"],
      quarantined: 2,
      reconciliationOk: false,
      unreadableMarkets: 0,
      backlog: { "BTC-USDT": 7 },
    });
  });

  it("passes a healthy step and fails on errors, halts, quarantine, reconciliation and a growing backlog", () => {
    expect(judge(healthy, [healthy, healthy])).toEqual([]);
    expect(judge(healthy, [])).toEqual(["the new version answered no scrape"]);
    expect(judge(healthy, [{ ...healthy, serverErrors: 50 }])).toEqual(["50 of 1000 requests answered 5xx"]);
    // Too few requests to judge a ratio.
    expect(judge(healthy, [{ ...healthy, requests: 10, serverErrors: 5 }])).toEqual([]);
    expect(judge(healthy, [{ ...healthy, haltedMarkets: ["BTC-USDT"] }])).toEqual([
      "markets halted during the step: BTC-USDT",
    ]);
    // A market an operator halted before the step is not the new version's doing.
    expect(
      judge({ ...healthy, haltedMarkets: ["BTC-USDT"] }, [{ ...healthy, haltedMarkets: ["BTC-USDT"] }]),
    ).toEqual([]);
    expect(judge(healthy, [{ ...healthy, quarantined: 1 }])).toEqual([
      "settlement quarantined 1 new entries",
    ]);
    expect(judge(healthy, [{ ...healthy, reconciliationOk: false }])).toEqual([
      "reconciliation found mismatches",
    ]);
    expect(
      judge(healthy, [
        { ...healthy, backlog: { "BTC-USDT": 1500 } },
        { ...healthy, backlog: { "BTC-USDT": 2500 } },
      ]),
    ).toEqual(["BTC-USDT: settlement backlog 2500 and growing"]);
  });
});
