import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { constantTimeEqualStrings } from "../lib/constant-time";
import { AppError, ErrorCode } from "../lib/errors";

/** How far a webhook's timestamp may be from our clock, either way. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

/** hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`): what the chain watcher sends in X-Webhook-Signature. */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return bytesToHex(hmac(sha256, encoder.encode(secret), encoder.encode(`${timestamp}.${rawBody}`)));
}

/**
 * Refuses (401) a webhook whose signature does not match the raw body or whose timestamp
 * (Unix seconds) is more than 5 minutes away from now, so a captured request cannot be replayed later.
 */
export function verifyWebhook(
  secret: string | undefined,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  nowMs = Date.now(),
): void {
  if (!secret) throw new AppError(503, ErrorCode.SERVICE_UNAVAILABLE, "Deposit webhooks are not configured");
  const { timestamp, signature } = headers;
  if (!timestamp || !/^\d{1,15}$/.test(timestamp) || !signature) {
    throw new AppError(
      401,
      ErrorCode.INVALID_SIGNATURE,
      "X-Webhook-Timestamp and X-Webhook-Signature are required",
    );
  }
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_SECONDS) {
    throw new AppError(
      401,
      ErrorCode.STALE_TIMESTAMP,
      "The webhook timestamp is outside the 5-minute window",
    );
  }
  const expected = signWebhook(secret, timestamp, rawBody);
  if (!constantTimeEqualStrings(expected, signature.toLowerCase())) {
    throw new AppError(401, ErrorCode.INVALID_SIGNATURE, "The webhook signature does not match");
  }
}
