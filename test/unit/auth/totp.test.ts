import { describe, expect, it } from "vitest";
import { matchTotpStep, newTotpSecret, totpCode, totpUri } from "../../../src/lib/totp";

// RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (base32 below); the 6-digit code is
// the last six digits of the RFC's 8-digit values (HOTP truncates modulo 10^digits).
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const VECTORS: [seconds: number, code8: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP (RFC 6238)", () => {
  it("matches the RFC test vectors", () => {
    for (const [seconds, code8] of VECTORS) {
      expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(code8.slice(2));
      expect(matchTotpStep(RFC_SECRET, code8.slice(2), seconds * 1000)).toBe(Math.floor(seconds / 30));
    }
  });

  it("accepts one step of drift either way, and nothing further or malformed", () => {
    const now = 1_111_111_111_000;
    const step = Math.floor(now / 30_000);
    for (const d of [-1, 0, 1])
      expect(matchTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now + d * 30_000), now)).toBe(step + d);
    for (const d of [-2, 2])
      expect(matchTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now + d * 30_000), now)).toBeNull();
    expect(matchTotpStep(RFC_SECRET, "12345", now)).toBeNull();
    expect(matchTotpStep(RFC_SECRET, "12345a", now)).toBeNull();
  });

  it("makes 160-bit base32 secrets and an otpauth URI apps can import", () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = totpUri(secret, "alice@example.com", "Pandora");
    expect(uri).toMatch(/^otpauth:\/\/totp\/Pandora:alice%40example\.com\?/);
    expect(uri).toContain(`secret=${secret}`);
    expect(uri).toContain("issuer=Pandora");
  });
});
