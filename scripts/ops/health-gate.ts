/**
 * The deploy pipeline's health gate between rollout steps (docs/ops/deploy.md):
 *
 *   node --import tsx scripts/ops/health-gate.ts --url https://api.pandora.exchange \
 *     --worker pandora-exchange --version <new version id> --minutes 5
 *
 * Scrapes GET /api/v1/admin/metrics (bearer METRICS_SCRAPE_TOKEN) once as the baseline, then
 * every 30 s for the step's duration, pinning the requests to the new version with Cloudflare's
 * version-override header, and checks `/ready` on it each time. Exits 1 with the reasons when the
 * new version is unhealthy (the workflow then rolls back), 0 otherwise.
 */
import { parseArgs } from "node:util";
import { DEFAULT_LIMITS, judge, readSample, type HealthSample } from "./health-verdict";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    worker: { type: "string", default: "pandora-exchange" },
    version: { type: "string" },
    minutes: { type: "string", default: "5" },
    interval: { type: "string", default: "30" },
  },
});
const token = process.env.METRICS_SCRAPE_TOKEN;
if (!values.url || !values.version || !token) {
  console.error(
    "usage: health-gate --url URL --version ID [--worker NAME] [--minutes N]; METRICS_SCRAPE_TOKEN set",
  );
  process.exit(2);
}
const base = values.url.replace(/\/$/, "");
const pinned = { "Cloudflare-Workers-Version-Overrides": `${values.worker}="${values.version}"` };

async function scrape(headers: Record<string, string>): Promise<HealthSample> {
  const res = await fetch(`${base}/api/v1/admin/metrics`, {
    headers: { ...headers, authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(20_000),
  });
  if (res.status !== 200) throw new Error(`metrics answered ${res.status}`);
  return readSample(await res.text());
}

async function ready(): Promise<string | null> {
  try {
    const res = await fetch(`${base}/ready`, { headers: pinned, signal: AbortSignal.timeout(10_000) });
    return res.status === 200 ? null : `/ready answered ${res.status}`;
  } catch (err) {
    return `/ready failed: ${String(err)}`;
  }
}

const baseline = await scrape({});
const samples: HealthSample[] = [];
const failures: string[] = [];
const until = Date.now() + Number(values.minutes) * 60_000;
while (Date.now() < until && failures.length === 0) {
  await new Promise((r) => setTimeout(r, Number(values.interval) * 1000));
  const notReady = await ready();
  if (notReady) failures.push(notReady);
  try {
    samples.push(await scrape(pinned));
    failures.push(...judge(baseline, samples, DEFAULT_LIMITS));
  } catch (err) {
    failures.push(`the new version's metrics: ${String(err)}`);
  }
}
if (failures.length) {
  console.error(`health gate FAILED for ${values.version}:\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
console.log(`health gate passed for ${values.version} (${samples.length} scrapes)`);
