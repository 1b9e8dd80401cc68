import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decryptSecret,
  encryptSecret,
  hmacSha256Hex,
  signaturePayload,
} from "../../../src/lib/api-key-crypto";
import { authConfig, parseArgon2Params } from "../../../src/lib/auth-config";
import { isCommonPassword, leansOnContext, userContextWords } from "../../../src/lib/common-passwords";
import { hashPassword, verifyPassword } from "../../../src/lib/password-hash";
import { randomToken, sha256Hex } from "../../../src/lib/secure-random";
import { NewPasswordSchema } from "../../../src/routes/user-schemas";

const KEY = Buffer.alloc(32, 7).toString("base64");

describe("password policy", () => {
  const accepts = async (pw: string) => (await NewPasswordSchema.safeParseAsync(pw)).success;

  it("accepts 8 to 128 characters exactly as typed (code points, no trimming)", async () => {
    expect(await accepts("1234567")).toBe(false);
    expect(await accepts("x".repeat(129))).toBe(false);
    expect(await accepts("x".repeat(128))).toBe(true);
    expect(await accepts("  spaced  ")).toBe(true);
    // 8 emoji are 16 UTF-16 units but 8 characters.
    expect(await accepts("🔑".repeat(8))).toBe(true);
    expect(await accepts("🔑".repeat(7))).toBe(false);
  });

  it("refuses the shipped common passwords in any case", async () => {
    expect(await isCommonPassword("Password123")).toBe(true);
    expect(await accepts("QWERTYUIOP")).toBe(false);
    expect(await isCommonPassword("correct horse battery staple")).toBe(false);
  });

  it("ships at least 10,000 common passwords of 8+ characters (from a maintained breach-derived list)", async () => {
    const { dictionary } = await import("@zxcvbn-ts/language-common");
    const long = dictionary["passwords-common"].filter((p) => [...p].length >= 8);
    expect(long.length).toBeGreaterThanOrEqual(10_000);
    // Deep in the list, not only its head.
    for (const pw of [long[5_000]!, long[9_999]!, long.at(-1)!]) expect(await accepts(pw), pw).toBe(false);
  });

  it("refuses passwords built on the product's name or the user's email local part", async () => {
    for (const pw of ["pandora2024!", "PandoraExchange", "exchange-1234", "pandora!!!!!!!!"]) {
      expect(await accepts(pw), pw).toBe(false);
    }
    expect(await accepts("my pandora box of sturdy words")).toBe(true);
    expect(leansOnContext("jsmith1987!", userContextWords("jsmith@example.com"))).toBe(true);
    expect(leansOnContext("a sturdy jsmith passphrase", userContextWords("jsmith@example.com"))).toBe(false);
  });
});

describe("argon2id", () => {
  it("flags weaker stored parameters for rehash on a successful verify only", async () => {
    const weak = await hashPassword("pass phrase", { m: 64, t: 1, p: 1 });
    const strong = { m: 128, t: 2, p: 1 };
    expect(await verifyPassword("pass phrase", weak, strong)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword("wrong", weak, strong)).toEqual({ ok: false, needsRehash: false });
  });

  it("parses ARGON2_PARAMS and refuses nonsense", () => {
    expect(parseArgon2Params("m=19456,t=2,p=1")).toEqual({ m: 19456, t: 2, p: 1 });
    expect(() => parseArgon2Params("m=1,t=0,p=1")).toThrow();
    expect(() => parseArgon2Params("fast")).toThrow();
    expect(() => authConfig({ API_KEY_RECV_WINDOW_MS: "60001" })).toThrow();
  });

  it("enforces OWASP's Argon2id minimums (or an equivalent) and what an isolate can hold", () => {
    for (const weak of [
      "m=8,t=1,p=1",
      "m=19455,t=2,p=1",
      "m=19456,t=1,p=1",
      "m=9216,t=3,p=1",
      "m=65536,t=0,p=1",
    ]) {
      expect(() => parseArgon2Params(weak), weak).toThrow(/too weak/);
    }
    for (const ok of [
      "m=19456,t=2,p=1",
      "m=47104,t=1,p=1",
      "m=12288,t=3,p=1",
      "m=9216,t=4,p=1",
      "m=7168,t=5,p=1",
    ]) {
      expect(parseArgon2Params(ok), ok).toMatchObject({ p: 1 });
    }
    expect(() => parseArgon2Params("m=65536,t=1,p=4"), "64 MiB").toThrow(/too costly/);
    expect(() => authConfig({ ARGON2_PARAMS: "m=8,t=1,p=1" })).toThrow();
    expect(authConfig({}).apiKeyRecvWindowMs).toBe(5000);
  });
});

describe("tokens and API-key secrets", () => {
  it("random tokens carry 256 bits and are stored as SHA-256", async () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sha256Hex(token)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("AES-GCM round-trips and is bound to its key id", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 80 }), async (secret) => {
        const sealed = await encryptSecret(KEY, "pk_a", secret);
        expect(await decryptSecret(KEY, "pk_a", sealed)).toBe(secret);
        await expect(decryptSecret(KEY, "pk_b", sealed)).rejects.toThrow();
      }),
      { numRuns: 25 },
    );
  });

  it("the signature covers timestamp, method, path with query and body", async () => {
    const base = await hmacSha256Hex("s", signaturePayload("1", "post", "/a?b=1", "{}"));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(signaturePayload("1", "post", "/a?b=1", "{}")).toBe("1POST/a?b=1{}");
    for (const other of [
      signaturePayload("2", "POST", "/a?b=1", "{}"),
      signaturePayload("1", "PUT", "/a?b=1", "{}"),
      signaturePayload("1", "POST", "/a?b=2", "{}"),
      signaturePayload("1", "POST", "/a?b=1", "{ }"),
    ]) {
      expect(await hmacSha256Hex("s", other)).not.toBe(base);
    }
  });
});
