import { tmpdir } from "node:os";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium";
import { startLocalExchange, type LocalExchange } from "../../../scripts/lib/local-exchange";
import { apiLogin, call, deposit, registerVerifyLogIn, see } from "./helpers";

// The web app in Debian's Chromium against the real local exchange (`wrangler dev` serving the
// built app and the API, Postgres, Redis): the story, as two traders and an admin live it.
describe("the web app in a browser", () => {
  let x: LocalExchange;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [x, browser] = await Promise.all([startLocalExchange("web-e2e"), launchChromium()]);
  }, 120_000);
  // A failure leaves each page's screenshot in the temp dir, named in the log.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== "fail") return;
    for (const [i, c] of contexts.entries())
      for (const [j, p] of c.pages().entries()) {
        const path = `${tmpdir()}/pandora-web-e2e-${i}-${j}.png`;
        await p.screenshot({ path, fullPage: true }).catch(() => undefined);
        console.error(`screenshot: ${path}`);
      }
  });
  afterAll(async () => {
    await browser?.close();
    await x?.stop();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    contexts.push(context);
    return context.newPage();
  }

  /** What the order form says is available to spend. */
  const available = (page: Page) => page.getByTestId("available");

  it("registers, verifies, logs in, deposits, places and cancels a limit buy; a refusal shows the API's message", async () => {
    const alice = await newPage();
    const email = await registerVerifyLogIn(alice, x, "alice");
    const admin = await apiLogin(x, x.admin.email, x.admin.password);
    const { users } = await call<{ users: { id: string }[] }>(
      x,
      "GET",
      `/api/v1/admin/users?q=${encodeURIComponent(email)}`,
      admin,
    );
    await call(x, "PATCH", `/api/v1/admin/users/${users[0]!.id}/kyc`, admin, { status: "verified" });
    const token = await apiLogin(x, email);
    const { address } = await call<{ address: string }>(x, "GET", "/api/v1/wallets/USDT/address", token);
    await deposit(x, "USDT", address, "1000");

    await alice.reload();
    await see(available(alice), "Available: 1000.000000 USDT");
    const book = alice.getByRole("table", { name: "Order book" });
    const openOrders = alice.getByRole("table", { name: "Open orders" });

    await alice.getByLabel("Price", { exact: true }).fill("60000.00");
    await alice.getByLabel("Quantity", { exact: true }).fill("0.01000");
    await see(alice.locator(".total"), "Total: 600.00 USDT");
    await alice.getByRole("button", { name: "Buy BTC" }).click();
    await see(openOrders.getByRole("row"), /buy\s*limit\s*60000\.000000\s*0\.01000000/);
    await see(book.getByRole("row", { name: "Bid" }), /60000\.00\s*0\.01000/);
    await see(available(alice), "Available: 400.000000 USDT");

    await openOrders.getByRole("button", { name: /^Cancel order/ }).click();
    await see(openOrders, "No open orders");
    await see(book, "The book is empty");
    await see(available(alice), "Available: 1000.000000 USDT");

    // Tick and lot are enforced as the user types; the API's own refusal shows next to the form.
    await alice.getByLabel("Price", { exact: true }).fill("60000.005");
    await see(alice.getByRole("alert"), "Price: a number with at most 2 decimals");
    await alice.getByLabel("Price", { exact: true }).fill("60000.00");
    await alice.getByLabel("Quantity", { exact: true }).fill("1.00000");
    await alice.getByRole("button", { name: "Buy BTC" }).click();
    await see(alice.getByTestId("order-error"), /insufficient|not enough/i);
  });
});
