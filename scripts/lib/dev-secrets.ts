import { HDKey } from "@scure/bip32";
import { generateKeyPairSync, randomBytes } from "node:crypto";

/** A fresh Ed25519 signing key as the JSON array of private JWKs that JWT_SIGNING_KEYS holds. */
function newSigningKeys(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return JSON.stringify([{ ...jwk, kid: `dev-${randomBytes(4).toString("hex")}`, alg: "EdDSA", use: "sig" }]);
}

/**
 * Account-level extended public keys from a throwaway random seed: deposit addresses derive
 * from them, and the seed (the private side) is discarded here, as in production.
 */
function newXpub(path: string): string {
  return HDKey.fromMasterSeed(randomBytes(32)).derive(path).publicExtendedKey;
}

/**
 * Secrets generated once per checkout for local development; values already present are
 * kept so sessions and API keys survive a restart of `npm run dev`.
 */
export function devSecrets(existing: Record<string, string>): Record<string, string> {
  const generated: Record<string, () => string> = {
    JWT_SIGNING_KEYS: newSigningKeys,
    JWT_ISSUER: () => "http://127.0.0.1",
    JWT_AUDIENCE: () => "pandora-api",
    API_KEY_ENCRYPTION_KEY: () => randomBytes(32).toString("base64"),
    DEPOSIT_WEBHOOK_SECRET: () => randomBytes(32).toString("hex"),
    UPSTASH_REDIS_REST_TOKEN: () => randomBytes(24).toString("hex"),
    BTC_XPUB: () => newXpub("m/84'/0'/0'"),
    ETH_XPUB: () => newXpub("m/44'/60'/0'"),
  };
  const out: Record<string, string> = {};
  for (const [key, make] of Object.entries(generated)) out[key] = existing[key] || make();
  return out;
}
