import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Locator, Page } from "playwright-core";
import type { LocalExchange } from "../../../scripts/lib/local-exchange";
import { signWebhook } from "../../../src/services/webhook-signature";

export const PASSWORD = "a sturdy browser pass phrase";

/** Waits until `locator` shows `text` (playwright-core has no `expect`; this is its web-first wait). */
export async function see(locator: Locator, text: string | RegExp, timeout = 15_000): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout });
}

export const uniqueEmail = (tag: string) => `${tag}-${randomBytes(5).toString("hex")}@example.test`;

/** The verification token, as the mailer reads it from the user's `user.registered` event. */
export async function verificationToken(x: LocalExchange, email: string): Promise<string> {
  const { rows } = await x.db.execute<{ token: string }>(sql`
    select e.envelope->'payload'->'email_verification'->>'token' as token
    from event_outbox e join users u on u.id::text = e.envelope->>'user_id'
    where lower(u.email) = lower(${email}) and e.envelope->>'type' = 'user.registered'`);
  if (!rows[0]?.token) throw new Error(`no user.registered event for ${email}`);
  return rows[0].token;
}

/** The chain watcher: a signed deposit webhook with enough confirmations to credit at once. */
export async function deposit(
  x: LocalExchange,
  asset: string,
  address: string,
  amount: string,
): Promise<void> {
  const raw = JSON.stringify({
    asset,
    tx_hash: randomBytes(32).toString("hex"),
    vout: 0,
    address,
    amount,
    confirmations: asset === "BTC" ? 6 : 64,
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${x.base}/api/v1/webhooks/deposits`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-timestamp": ts,
      "x-webhook-signature": signWebhook(x.secrets.DEPOSIT_WEBHOOK_SECRET!, ts, raw),
    },
    body: raw,
  });
  if (!res.ok) throw new Error(`deposit webhook answered ${res.status}: ${await res.text()}`);
}

/** Registers and verifies the email through the pages (the token from the mailer's event). */
export async function registerAndVerify(page: Page, x: LocalExchange, tag: string): Promise<string> {
  const email = uniqueEmail(tag);
  await page.goto(`${x.base}/register`);
  await page.getByLabel("First name").fill("Test");
  await page.getByLabel("Last name").fill(tag);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await see(page.getByRole("status"), "Account created");

  await page.goto(`${x.base}/verify-email?token=${encodeURIComponent(await verificationToken(x, email))}`);
  await see(page.getByRole("status"), "Email verified");
  return email;
}

export async function logIn(page: Page, x: LocalExchange, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${x.base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/trade\/BTC-USDT$/);
}
