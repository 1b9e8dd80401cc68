import { env } from "cloudflare:workers";
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyAccessToken } from "../../../src/lib/access-token";
import { toBase64Url } from "../../../src/lib/secure-random";
import { account, api, auditActionsFor, eventsOf, expectError, login, type TokenPair } from "./helpers";

const realKey = (JSON.parse(env.JWT_SIGNING_KEYS) as JWK[])[0]!;

interface Forge {
  key?: CryptoKey;
  kid?: string;
  iss?: string;
  aud?: string;
  exp?: number;
  typ?: string;
}

async function forge(sub: string, sid: string, f: Forge = {}): Promise<string> {
  const key = f.key ?? ((await importJWK({ ...realKey, alg: "EdDSA" }, "EdDSA")) as CryptoKey);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: "admin", sid })
    .setProtectedHeader({ alg: "EdDSA", kid: f.kid ?? realKey.kid!, typ: f.typ ?? "at+jwt" })
    .setSubject(sub)
    .setIssuer(f.iss ?? env.JWT_ISSUER)
    .setAudience(f.aud ?? env.JWT_AUDIENCE)
    .setIssuedAt(now - 60)
    .setExpirationTime(f.exp ?? now + 600)
    .setJti(crypto.randomUUID())
    .sign(key);
}

function claimsOf(token: string): { sub: string; sid: string } {
  return JSON.parse(
    new TextDecoder().decode(
      Uint8Array.from(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")), (c) =>
        c.charCodeAt(0),
      ),
    ),
  );
}

describe("access tokens that must be refused (401, no side effect)", () => {
  let pair: TokenPair;
  let sub: string;
  let sid: string;
  beforeAll(async () => {
    const user = await account();
    pair = await login(user.email);
    ({ sub, sid } = claimsOf(pair.access_token));
  });

  async function refusedWithoutEffect(token: string) {
    await expectError(await api("GET", "/api/v1/users/me", { token }), 401, "UNAUTHORIZED");
    await expectError(
      await api("PATCH", "/api/v1/users/me", { token, body: { first_name: "Mallory" } }),
      401,
      "UNAUTHORIZED",
    );
    const me = await api("GET", "/api/v1/users/me", { token: pair.access_token });
    expect(((await me.json()) as { user: { first_name: string } }).user.first_name).toBe("Test");
  }

  it("the genuine token works and is an EdDSA at+jwt with a kid", async () => {
    const header = JSON.parse(atob(pair.access_token.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(header).toEqual({ alg: "EdDSA", kid: realKey.kid, typ: "at+jwt" });
    expect(Object.keys(claimsOf(pair.access_token)).sort()).toEqual(
      ["aud", "exp", "iat", "iss", "jti", "role", "sid", "sub"].sort(),
    );
    expect((await api("GET", "/api/v1/users/me", { token: pair.access_token })).status).toBe(200);
  });

  it("alg: none", async () => {
    const enc = (o: object) => toBase64Url(new TextEncoder().encode(JSON.stringify(o)));
    const payload = { ...claimsOf(pair.access_token), role: "admin" };
    await refusedWithoutEffect(`${enc({ alg: "none", typ: "at+jwt", kid: realKey.kid })}.${enc(payload)}.`);
  });

  it("HS256 with the public key as the secret (algorithm confusion)", async () => {
    const token = await new SignJWT({ role: "user", sid })
      .setProtectedHeader({ alg: "HS256", kid: realKey.kid!, typ: "at+jwt" })
      .setSubject(sub)
      .setIssuer(env.JWT_ISSUER)
      .setAudience(env.JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("10m")
      .setJti(crypto.randomUUID())
      .sign(new TextEncoder().encode(realKey.x!));
    await refusedWithoutEffect(token);
  });

  it("signed by a key not in the key set (same kid)", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    await refusedWithoutEffect(await forge(sub, sid, { key: privateKey as CryptoKey }));
  });

  it("an unknown kid", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    await refusedWithoutEffect(await forge(sub, sid, { key: privateKey as CryptoKey, kid: "not-ours" }));
    await refusedWithoutEffect(await forge(sub, sid, { kid: "not-ours" }));
  });

  it("a wrong audience or issuer", async () => {
    await refusedWithoutEffect(await forge(sub, sid, { aud: "another-api" }));
    await refusedWithoutEffect(await forge(sub, sid, { iss: "https://evil.example" }));
  });

  it("an expired token", async () => {
    await refusedWithoutEffect(await forge(sub, sid, { exp: Math.floor(Date.now() / 1000) - 1 }));
  });

  it("a token of the wrong type", async () => {
    await refusedWithoutEffect(await forge(sub, sid, { typ: "JWT" }));
  });
});

describe("key rotation", () => {
  it("a token signed by the previous key verifies until that key is removed", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const newKey = { ...(await exportJWK(privateKey)), kid: "next" };
    const previous = {
      JWT_ISSUER: env.JWT_ISSUER,
      JWT_AUDIENCE: env.JWT_AUDIENCE,
      JWT_SIGNING_KEYS: env.JWT_SIGNING_KEYS,
    };
    const oldToken = await forge(crypto.randomUUID(), crypto.randomUUID());
    const rotated = { ...previous, JWT_SIGNING_KEYS: JSON.stringify([newKey, realKey]) };
    await expect(verifyAccessToken(rotated, oldToken)).resolves.toMatchObject({ iss: env.JWT_ISSUER });
    const removed = { ...previous, JWT_SIGNING_KEYS: JSON.stringify([newKey]) };
    await expect(verifyAccessToken(removed, oldToken)).rejects.toThrow(/unknown kid/);

    const jwks = await api("GET", "/.well-known/jwks.json");
    const body = (await jwks.json()) as { keys: JWK[] };
    expect(body.keys).toEqual([
      { kty: "OKP", crv: "Ed25519", x: realKey.x, kid: realKey.kid, alg: "EdDSA", use: "sig" },
    ]);
    expect(JSON.stringify(body)).not.toContain('"d"');
  });
});

describe("refresh token reuse", () => {
  it("a rotated token is refused and takes the whole family with it, audited and announced", async () => {
    const user = await account();
    const first = await login(user.email);
    const res = await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: first.refresh_token } });
    const second = (await res.json()) as TokenPair;
    expect((await api("GET", "/api/v1/users/me", { token: second.access_token })).status).toBe(200);

    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: first.refresh_token } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    // The newest token of the family dies with it, and so do its access tokens.
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: second.refresh_token } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    await expectError(await api("GET", "/api/v1/users/me", { token: second.access_token }), 401);

    expect(await auditActionsFor(claimsOf(first.access_token).sid)).toContain("session.reuse_detected");
    const events = await eventsOf(user.id);
    expect(events.map((e) => e.type)).toContain("user.session.reuse_detected");
  });

  it("garbage refresh tokens are refused", async () => {
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: "nope" } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
  });
});
