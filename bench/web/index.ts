// `npm run bench:web`: what the trading page costs a visitor. (1) The JavaScript the first load
// of /trade/BTC-USDT fetches, gzip-compressed (what a CDN sends), against the 250 KB budget.
// (2) Navigation to a live order book: from navigation start to the page's `book-live` mark (the
// first depth snapshot from the market's WebSocket applied), p50 of 10 fresh loads, each in a
// new browser context (no cache), against the real local exchange with a demo book.
import { gzipSync } from "node:zlib";
import { launchChromium } from "../../scripts/lib/chromium";
import { startLocalExchange } from "../../scripts/lib/local-exchange";
import { seedDemoMarket } from "../../scripts/web/demo-market";

const LOADS = 10;
const BUDGET_KB = 250;
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
// Evaluated in the page (as strings: this file is typed for Node, without the DOM).
const BOOK_LIVE = "performance.getEntriesByName('book-live').length > 0";
const BOOK_LIVE_MS = "performance.getEntriesByName('book-live')[0].startTime";

const x = await startLocalExchange("bench-web");
const browser = await launchChromium();
try {
  await seedDemoMarket(x);
  const url = `${x.base}/trade/BTC-USDT`;

  const scripts = new Map<string, Buffer>();
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("response", async (res) => {
      if (res.request().resourceType() === "script")
        scripts.set(new URL(res.url()).pathname, await res.body());
    });
    await page.goto(url);
    await page.waitForFunction(BOOK_LIVE);
    await page.waitForLoadState("networkidle");
    await context.close();
  }
  let raw = 0;
  let gzip = 0;
  console.log("JavaScript of the first load of /trade/BTC-USDT:");
  for (const [path, body] of scripts) {
    const z = gzipSync(body, { level: 9 }).length;
    raw += body.length;
    gzip += z;
    console.log(`  ${path}: ${kb(body.length)} KB, ${kb(z)} KB gzip`);
  }
  console.log(
    `  total: ${kb(raw)} KB, ${kb(gzip)} KB gzip (budget ${BUDGET_KB} KB: ${gzip <= BUDGET_KB * 1024 ? "met" : "MISSED"})`,
  );

  const times: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(BOOK_LIVE);
    times.push((await page.evaluate(BOOK_LIVE_MS)) as number);
    await context.close();
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(0);
  console.log(
    `navigation to a live order book, ${LOADS} fresh loads: p50 ${at(0.5)} ms, min ${times[0]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
  );
} finally {
  await browser.close();
  await x.stop();
}
