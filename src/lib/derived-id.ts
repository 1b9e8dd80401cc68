import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/**
 * A UUID that follows from its parts (RFC 9562 version 8: SHA-256 of the parts, with the
 * version and variant bits set): the same parts always name the same thing, so a retry of a
 * placement (same caller and Idempotency-Key) or the stop leg of an OCO gets the same id.
 */
export function derivedUuid(...parts: string[]): string {
  const bytes = sha256(new TextEncoder().encode(parts.join("\u0000"))).slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytesToHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
