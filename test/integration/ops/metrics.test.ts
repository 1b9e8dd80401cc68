import { env } from "cloudflare:workers";
import parsePrometheusTextFormat, { type PrometheusFamily as Family } from "parse-prometheus-text-format";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectError, login } from "../auth/helpers";
import { createMarket, placed, placeOrder, settle, trader } from "../trading/helpers";

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

async function scrapeText(token = adminToken): Promise<string> {
  const res = await api("GET", "/api/v1/admin/metrics", { token });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

const scrape = async (token = adminToken): Promise<Family[]> =>
  parsePrometheusTextFormat(await scrapeText(token));

/**
 * A histogram series' `_count` for these labels, read from the text: the parser validates the
 * family but merges the series of a labelled histogram into one (it keeps no labels for them).
 */
function histogramCount(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}_count{${labels}} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

const family = (families: Family[], name: string) => families.find((f) => f.name === name);
const sampleOf = (families: Family[], name: string, labels: Record<string, string>) =>
  family(families, name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

describe("GET /api/v1/admin/metrics", () => {
  it("after a trade, serves valid Prometheus text with the market's orders, fills and settlement lag", async () => {
    const market = await createMarket();
    const alice = await trader({ USDT: "1000" });
    const bob = await trader({ BTC: "0.1" });
    // Alice bids 0.01 at 65,000; Bob sells into it; Carol's bid is refused for lack of funds.
    await placed(alice, { market, side: "buy", type: "limit", price: "65000", quantity: "0.01" });
    const sold = await placed(bob, { market, side: "sell", type: "limit", price: "65000", quantity: "0.01" });
    expect(sold.fills).toHaveLength(1);
    const carol = await trader({ USDT: "1" });
    const refused = await placeOrder(carol, {
      market,
      side: "buy",
      type: "limit",
      price: "65000",
      quantity: "0.01",
    });
    expect(refused.status).toBe(422);
    await settle(market);

    // Settlement is acknowledged in the object right after commit; the scraper's token polls.
    let text = "";
    await expect
      .poll(
        async () => {
          text = await scrapeText(env.METRICS_SCRAPE_TOKEN);
          return histogramCount(text, "pandora_settlement_lag_seconds", `market="${market}"`);
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBeGreaterThan(0);
    const families = parsePrometheusTextFormat(text);

    expect(Number(sampleOf(families, "pandora_orders_accepted_total", { market })?.value)).toBe(2);
    expect(
      Number(
        sampleOf(families, "pandora_orders_refused_total", { market, reason: "INSUFFICIENT_FUNDS" })?.value,
      ),
    ).toBe(1);
    expect(Number(sampleOf(families, "pandora_fills_total", { market })?.value)).toBe(1);
    const lag = family(families, "pandora_settlement_lag_seconds");
    expect(lag?.type).toBe("HISTOGRAM");
    expect(Object.keys(lag?.metrics[0]?.buckets ?? {})).toContain("+Inf");
    expect(Number(sampleOf(families, "pandora_settlement_backlog", { market })?.value)).toBe(0);
    expect(Number(sampleOf(families, "pandora_market_status", { market, status: "trading" })?.value)).toBe(1);
    expect(Number(sampleOf(families, "pandora_settlement_quarantine_open", { market })?.value)).toBe(0);
    // Where the order groups' time went: three placements, each in its own group, each locked once
    // (the first group may come before the book is configured: refused unlocked, then retried).
    const stage = (name: string) =>
      histogramCount(text, "pandora_market_flush_stage_seconds", `market="${market}",stage="${name}"`);
    const groups = histogramCount(text, "pandora_market_flush_commands", `market="${market}"`);
    expect(groups).toBeGreaterThanOrEqual(3);
    expect(stage("queue")).toBe(groups);
    expect(stage("run")).toBe(groups);
    expect(stage("answer")).toBe(groups);
    expect(stage("commit")).toBe(3);
    expect(stage("lock")).toBe(3);

    // The Worker's own: the order route counted by its pattern and status, with a latency histogram.
    const orders = sampleOf(families, "pandora_http_requests_total", {
      route: "/api/v1/orders",
      method: "POST",
      status: "201",
    });
    expect(Number(orders?.value)).toBeGreaterThanOrEqual(2);
    expect(family(families, "pandora_http_request_duration_seconds")?.type).toBe("HISTOGRAM");
  });

  it("accepts the scrape token instead of an admin session", async () => {
    const families = await scrape(env.METRICS_SCRAPE_TOKEN);
    expect(family(families, "pandora_http_requests_total")).toBeDefined();
  });

  it("is for admins and the scraper only", async () => {
    const user = await trader();
    await expectError(await api("GET", "/api/v1/admin/metrics", { token: user.token }), 403);
    await expectError(await api("GET", "/api/v1/admin/metrics"), 401);
    const token = env.METRICS_SCRAPE_TOKEN;
    const wrong = token.slice(0, -1) + (token.endsWith("0") ? "1" : "0");
    await expectError(await api("GET", "/api/v1/admin/metrics", { token: wrong }), 401);
  });
});
