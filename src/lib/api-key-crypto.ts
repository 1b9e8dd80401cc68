import { fromBase64 } from "./base64";
import { toHex } from "./secure-random";

/**
 * API-key secrets at rest: AES-256-GCM under API_KEY_ENCRYPTION_KEY, with the public key id
 * as associated data (a ciphertext moved to another key's row does not decrypt). Request
 * signatures: hex HMAC-SHA256(secret, timestamp + METHOD + path-with-query + body).
 */

const IV_BYTES = 12;
const encoder = new TextEncoder();
const aesKeys = new Map<string, Promise<CryptoKey>>();

function aesKey(base64Key: string): Promise<CryptoKey> {
  let key = aesKeys.get(base64Key);
  if (!key) {
    const raw = fromBase64(base64Key);
    if (raw.length !== 32) throw new Error("API_KEY_ENCRYPTION_KEY must be 32 bytes of base64");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    aesKeys.set(base64Key, key);
  }
  return key;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export async function encryptSecret(base64Key: string, keyId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(keyId) },
    await aesKey(base64Key),
    encoder.encode(secret),
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), IV_BYTES);
  return bytesToBase64(out);
}

export async function decryptSecret(base64Key: string, keyId: string, sealed: string): Promise<string> {
  const bytes = fromBase64(sealed);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(keyId) },
    await aesKey(base64Key),
    bytes.subarray(IV_BYTES),
  );
  return new TextDecoder().decode(plain);
}

/** The string a client signs: timestamp + METHOD + path-with-query + body. */
export function signaturePayload(
  timestamp: string,
  method: string,
  pathWithQuery: string,
  body: string,
): string {
  return `${timestamp}${method.toUpperCase()}${pathWithQuery}${body}`;
}

/** An HMAC-SHA256 key for `secret`, not extractable (a holder can sign, never read the secret back). */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

export async function hmacHex(key: CryptoKey, message: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message))));
}

export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  return hmacHex(await hmacKey(secret), message);
}
