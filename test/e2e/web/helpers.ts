import { randomBytes } from "node:crypto";
import type { Locator, Page } from "playwright-core";
import { verificationToken, type LocalExchange } from "../../../scripts/lib/local-exchange";

export const PASSWORD = "a sturdy browser pass phrase";

/** Waits until `locator` shows `text` (playwright-core has no `expect`; this is its web-first wait). */
export async function see(locator: Locator, text: string | RegExp, timeout = 15_000): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout });
}

export const uniqueEmail = (tag: string) => `${tag}-${randomBytes(5).toString("hex")}@example.test`;

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
