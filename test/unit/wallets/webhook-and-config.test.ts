import { describe, expect, it } from "vitest";
import { parseIdempotencyKey, stableStringify } from "../../../src/services/idempotency";
import { configuredUnits, walletConfig } from "../../../src/services/wallet-config";
import { signWebhook, verifyWebhook } from "../../../src/services/webhook-signature";

describe("deposit webhook signature", () => {
  const secret = "s3cret";
  const body = '{"asset":"BTC","amount":"1"}';
  const now = 1_800_000_000_000;
  const ts = String(now / 1000);

  it("accepts the HMAC of timestamp.body within 5 minutes", () => {
    expect(() =>
      verifyWebhook(secret, { timestamp: ts, signature: signWebhook(secret, ts, body) }, body, now),
    ).not.toThrow();
    const upper = signWebhook(secret, ts, body).toUpperCase();
    expect(() => verifyWebhook(secret, { timestamp: ts, signature: upper }, body, now)).not.toThrow();
  });

  it.each([
    ["another body", { timestamp: ts, signature: signWebhook(secret, ts, `${body} `) }, "INVALID_SIGNATURE"],
    ["another secret", { timestamp: ts, signature: signWebhook("nope", ts, body) }, "INVALID_SIGNATURE"],
    ["no signature", { timestamp: ts, signature: undefined }, "INVALID_SIGNATURE"],
    ["a timestamp in ms", { timestamp: String(now), signature: "x" }, "STALE_TIMESTAMP"],
    ["301 s old", { timestamp: String(now / 1000 - 301), signature: "x" }, "STALE_TIMESTAMP"],
    ["301 s ahead", { timestamp: String(now / 1000 + 301), signature: "x" }, "STALE_TIMESTAMP"],
    ["a non-numeric timestamp", { timestamp: "1e9", signature: "x" }, "INVALID_SIGNATURE"],
  ])("refuses %s", (_what, headers, code) => {
    expect(() => verifyWebhook(secret, headers, body, now)).toThrow(
      expect.objectContaining({ status: 401, code }),
    );
  });
});

describe("idempotency helpers", () => {
  it("fingerprints requests independently of key order", () => {
    expect(stableStringify({ b: 1, a: { d: [1, "x"], c: null } })).toBe(
      stableStringify({ a: { c: null, d: [1, "x"] }, b: 1 }),
    );
    expect(stableStringify({ a: "1" })).not.toBe(stableStringify({ a: 1 }));
  });

  it("checks the key format", () => {
    expect(parseIdempotencyKey(undefined, false)).toBeUndefined();
    expect(() => parseIdempotencyKey(undefined, true)).toThrow(
      expect.objectContaining({ code: "IDEMPOTENCY_KEY_REQUIRED" }),
    );
    expect(() => parseIdempotencyKey("short", true)).toThrow(expect.objectContaining({ status: 400 }));
    expect(parseIdempotencyKey("3f0c2b1a-withdraw", true)).toBe("3f0c2b1a-withdraw");
  });
});

describe("wallet configuration", () => {
  it("parses thresholds and limits per KYC status", () => {
    const config = walletConfig({
      BITCOIN_NETWORK: "testnet",
      WITHDRAWAL_APPROVAL_THRESHOLDS: '{"BTC":"0.5"}',
      WITHDRAWAL_DAILY_LIMITS: '{"verified":{"BTC":"5"}}',
    });
    expect(config.bitcoinNetwork).toBe("testnet");
    expect(configuredUnits(config.approvalThresholds.BTC, 8)).toBe(50_000_000n);
    expect(configuredUnits(config.dailyLimits.verified?.BTC, 8)).toBe(500_000_000n);
    expect(configuredUnits("0.1234567", 6)).toBe(123_456n);
    expect(configuredUnits(undefined, 6)).toBeNull();
  });

  it("refuses malformed settings", () => {
    const ok = {
      BITCOIN_NETWORK: "mainnet",
      WITHDRAWAL_APPROVAL_THRESHOLDS: "{}",
      WITHDRAWAL_DAILY_LIMITS: "{}",
    };
    expect(() => walletConfig({ ...ok, BITCOIN_NETWORK: "regtest" })).toThrow();
    expect(() => walletConfig({ ...ok, WITHDRAWAL_APPROVAL_THRESHOLDS: '{"BTC":0.5}' })).toThrow();
    expect(() => walletConfig({ ...ok, WITHDRAWAL_DAILY_LIMITS: "[]" })).toThrow();
  });
});
