// `npm run web:screenshots`: the trading page, the account page and the admin console at desktop
// and phone width, from the real local exchange with a demo book, into docs/screenshots/.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../lib/chromium";
import { startLocalExchange } from "../lib/local-exchange";
import { DEMO_PASSWORD, seedDemoMarket } from "./demo-market";

const OUT = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
const VIEWPORTS = { desktop: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } };

const x = await startLocalExchange("web-screenshots");
const browser = await launchChromium();
try {
  mkdirSync(OUT, { recursive: true });
  const trader = await seedDemoMarket(x);
  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    for (const [who, email, password, pages] of [
      [
        "trader",
        trader.email,
        DEMO_PASSWORD,
        [
          ["trade", "/trade/BTC-USDT"],
          ["account", "/account"],
        ],
      ],
      ["admin", x.admin.email, x.admin.password, [["admin", "/admin"]]],
    ] as const) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${x.base}/login`);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(/\/trade\//);
      for (const [shot, path] of pages) {
        await page
          .getByRole("link", { name: shot === "trade" ? "Trade" : shot === "account" ? "Account" : "Admin" })
          .click();
        await page.waitForURL(`${x.base}${path}`);
        if (shot === "trade")
          await page
            .getByRole("table", { name: "Order book" })
            .getByRole("row", { name: "Bid" })
            .first()
            .waitFor();
        else await page.getByRole("table").first().waitFor();
        await page.waitForTimeout(1_000); // the chart's first paint and the lists' reads
        await page.screenshot({ path: `${OUT}${shot}-${name}.png`, fullPage: true });
        console.log(`docs/screenshots/${shot}-${name}.png (${who})`);
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  await x.stop();
}
