import { Secret, TOTP } from "otpauth/slim";

/**
 * TOTP (RFC 6238) as authenticator apps expect it: SHA-1, 6 digits, 30 s steps, base32 secrets
 * of 20 bytes. The `otpauth` library does the HOTP arithmetic over @noble/hashes; this module
 * only fixes the parameters and exposes the time step a code matched, which callers store so a
 * code (or an older one) is never accepted twice.
 */

export const TOTP_PERIOD_S = 30;
const DIGITS = 6;
/** Codes one step before or after the server's clock are accepted (clock drift, typing time). */
const WINDOW = 1;

function totp(secretBase32: string): TOTP {
  return new TOTP({
    algorithm: "SHA1",
    digits: DIGITS,
    period: TOTP_PERIOD_S,
    secret: Secret.fromBase32(secretBase32),
  });
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app scans (as a QR code) or imports. */
export function totpUri(secretBase32: string, account: string, issuer: string): string {
  return new TOTP({
    issuer,
    label: account,
    algorithm: "SHA1",
    digits: DIGITS,
    period: TOTP_PERIOD_S,
    secret: Secret.fromBase32(secretBase32),
  }).toString();
}

/** The code for the step that contains `timestampMs`. */
export function totpCode(secretBase32: string, timestampMs: number): string {
  return totp(secretBase32).generate({ timestamp: timestampMs });
}

/** The time step `code` belongs to (within ±WINDOW of `timestampMs`), or null if it matches none. */
export function matchTotpStep(secretBase32: string, code: string, timestampMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secretBase32).validate({ token: code, timestamp: timestampMs, window: WINDOW });
  if (delta === null) return null;
  return Math.floor(timestampMs / 1000 / TOTP_PERIOD_S) + delta;
}
