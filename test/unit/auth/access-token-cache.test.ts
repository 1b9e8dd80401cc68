import { exportJWK, generateKeyPair } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { signAccessToken, verifyAccessToken, type JwtEnv } from "../../../src/lib/access-token";
import { ACCESS_TOKEN_TTL_SECONDS } from "../../../src/lib/auth-config";

async function jwtEnv(): Promise<JwtEnv> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: crypto.randomUUID() };
  return { JWT_SIGNING_KEYS: JSON.stringify([jwk]), JWT_ISSUER: "iss", JWT_AUDIENCE: "aud" };
}

const subject = { userId: crypto.randomUUID(), role: "user" as const, sessionId: crypto.randomUUID() };

describe("verified access tokens are remembered, never beyond what verification allows", () => {
  afterEach(() => vi.useRealTimers());

  it("a remembered token still expires on time", async () => {
    const env = await jwtEnv();
    vi.useFakeTimers({ toFake: ["Date"] });
    const { token } = await signAccessToken(env, subject);
    expect((await verifyAccessToken(env, token)).sub).toBe(subject.userId);
    expect((await verifyAccessToken(env, token)).sub).toBe(subject.userId); // from memory
    vi.setSystemTime(Date.now() + (ACCESS_TOKEN_TTL_SECONDS + 1) * 1000);
    await expect(verifyAccessToken(env, token)).rejects.toThrow(/invalid access token/);
  });

  it("another key set does not accept what this one verified; a changed byte is checked anew", async () => {
    const env = await jwtEnv();
    const { token } = await signAccessToken(env, subject);
    await verifyAccessToken(env, token);
    await expect(verifyAccessToken(await jwtEnv(), token)).rejects.toThrow(/invalid access token/);
    const [header, payload, signature] = token.split(".");
    const at = signature!.length - 2; // a character carrying six signature bits
    const flipped = signature!.slice(0, at) + (signature![at] === "A" ? "B" : "A") + signature!.slice(at + 1);
    await expect(verifyAccessToken(env, `${header}.${payload}.${flipped}`)).rejects.toThrow(
      /invalid access token/,
    );
  });
});
