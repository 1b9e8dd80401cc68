import { tmpdir } from "node:os";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium";
import { startLocalExchange, type LocalExchange } from "../../../scripts/lib/local-exchange";
import { deposit } from "../../../scripts/lib/local-exchange";
import { logIn, registerAndVerify, see } from "./helpers";

const BTC_ADDRESS = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";

// The web app in Debian's Chromium against the real local exchange (`wrangler dev` serving the
// built app and the API, Postgres, Redis): the story, as two traders and an admin live it.
// The steps share one exchange and run in order.
describe("the web app in a browser", () => {
  let x: LocalExchange;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;
  let admin: Page;

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
  const available = (page: Page) => page.getByTestId("available");
  const balanceRow = (page: Page, asset: string) =>
    page.getByRole("table", { name: "Balances" }).getByRole("row").filter({ hasText: asset });

  /** The account page's deposit address of `asset`, then a signed deposit to it from the chain watcher. */
  async function fund(page: Page, asset: string, amount: string): Promise<void> {
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByLabel("Asset").first().selectOption(asset);
    await page.getByRole("button", { name: "Show deposit address" }).click();
    const address = (await page.getByTestId("deposit-address").textContent())!.trim();
    await deposit(x, asset, address, amount);
    await page.getByRole("link", { name: "Trade" }).click();
  }

  it("registers and verifies two traders; the admin approves their KYC in the console", async () => {
    [alice, bob, admin] = await Promise.all([newPage(), newPage(), newPage()]);
    const [aliceEmail, bobEmail] = await Promise.all([
      registerAndVerify(alice, x, "alice"),
      registerAndVerify(bob, x, "bob"),
    ]);
    await Promise.all([
      logIn(alice, x, aliceEmail),
      logIn(bob, x, bobEmail),
      logIn(admin, x, x.admin.email, x.admin.password),
    ]);

    await admin.getByRole("link", { name: "Admin" }).click();
    const queue = admin.getByRole("table", { name: "KYC queue" });
    for (const email of [aliceEmail, bobEmail]) {
      await admin.getByRole("button", { name: `Approve KYC of ${email}` }).click();
      await queue.getByText(email).waitFor({ state: "detached" });
    }
  });

  it("deposits, places a limit buy that shows in Open orders and the book, cancels it, and the balance is back", async () => {
    await fund(alice, "USDT", "1000");
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
  });

  it("shows the API's refusal next to the form, after the form's own checks of tick and lot", async () => {
    await alice.getByLabel("Price", { exact: true }).fill("60000.005");
    await see(alice.getByRole("alert"), "Price: a number with at most 2 decimals");
    await alice.getByLabel("Quantity", { exact: true }).fill("0.000015");
    await see(alice.getByRole("alert"), "Quantity: a number with at most 5 decimals");
    await alice.getByLabel("Price", { exact: true }).fill("60000.00");
    await alice.getByLabel("Quantity", { exact: true }).fill("1.00000");
    await alice.getByRole("button", { name: "Buy BTC" }).click();
    await see(alice.getByTestId("order-error"), /insufficient/i);
  });

  it("a second trader sells into the buy: both pages show the trade, the balances and the chart's last candle without a reload", async () => {
    await alice.getByLabel("Quantity", { exact: true }).fill("0.01000");
    await alice.getByRole("button", { name: "Buy BTC" }).click();
    await see(alice.getByRole("table", { name: "Open orders" }).getByRole("row"), /buy\s*limit/);

    await fund(bob, "BTC", "1");
    await bob.getByRole("group", { name: "Side" }).getByRole("button", { name: "Sell" }).click();
    await see(available(bob), "Available: 1.00000000 BTC");
    await see(
      bob.getByRole("table", { name: "Order book" }).getByRole("row", { name: "Bid" }),
      /60000\.00\s*0\.01000/,
    );
    await bob.getByLabel("Price", { exact: true }).fill("60000.00");
    await bob.getByLabel("Quantity", { exact: true }).fill("0.01000");
    await bob.getByRole("button", { name: "Sell BTC" }).click();

    for (const page of [alice, bob]) {
      await see(page.getByRole("table", { name: "Recent trades" }).getByRole("row"), /60000\.00\s*0\.01000/);
      await see(page.getByTestId("last-candle"), "C 60000.00");
      await page.getByRole("tab", { name: "Balances" }).click();
    }
    // Alice rested (maker, 10 bps of her 0.01 BTC); Bob took (taker, 20 bps of his 600 USDT).
    await see(balanceRow(alice, "BTC"), /0\.00999000\s*0\.00000000/);
    await see(balanceRow(alice, "USDT"), /400\.000000\s*0\.000000/);
    await see(balanceRow(bob, "BTC"), /0\.99000000\s*0\.00000000/);
    await see(balanceRow(bob, "USDT"), /598\.800000\s*0\.000000/);
    await see(alice.getByRole("tab", { name: "Open orders (0)" }), "Open orders (0)");
  });

  it("an admin approves a withdrawal in the console and the user's page shows it", async () => {
    await bob.getByRole("link", { name: "Account" }).click();
    const form = bob.getByRole("form", { name: "Request a withdrawal" });
    await form.getByLabel("Asset").selectOption("BTC");
    await form.getByLabel("Destination address").fill(BTC_ADDRESS);
    await form.getByLabel("Amount").fill("0.60000000");
    await form.getByRole("button", { name: "Request withdrawal" }).click();
    const withdrawals = bob.getByRole("table", { name: "Withdrawals" });
    await see(withdrawals.getByRole("row"), /BTC\s*0\.60000000.*pending approval/);

    await admin.getByRole("tab", { name: "Withdrawals" }).click();
    await admin.getByRole("button", { name: /^Approve withdrawal/ }).click();
    await see(admin.getByRole("table", { name: "Withdrawals" }), "None in this state");

    await see(withdrawals.getByRole("row"), /BTC\s*0\.60000000.*approved/);
  });

  it("the API docs render from this Worker's own Swagger UI assets under a strict CSP", async () => {
    const page = await newPage();
    const refused: string[] = [];
    const thirdParty: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    page.on("request", (r) => {
      if (new URL(r.url()).origin !== new URL(x.base).origin) thirdParty.push(r.url());
    });
    const res = await page.goto(`${x.base}/docs`);
    const csp = res!.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
    // Swagger UI ran: the operations of /openapi.json are listed (one block per operation).
    await page.locator(".opblock").nth(20).waitFor();
    await see(page.locator(".info .title"), "Pandora Exchange API");
    expect(refused).toEqual([]);
    expect(thirdParty).toEqual([]);
  });
});
