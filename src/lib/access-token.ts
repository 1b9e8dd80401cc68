import { SignJWT, importJWK, jwtVerify, type JWK, type JWTPayload } from "jose";
import { ACCESS_TOKEN_TTL_SECONDS } from "./auth-config";

/**
 * Access tokens: EdDSA (Ed25519) JWTs signed with the first key of JWT_SIGNING_KEYS and
 * verified with any key of the set, chosen by the `kid` header (rotation: prepend a new key,
 * remove the old one once its last tokens have expired). The algorithm is pinned; `typ` must
 * be `at+jwt`; `iss` and `aud` must match.
 */

export const ACCESS_TOKEN_ALG = "EdDSA";
export const ACCESS_TOKEN_TYP = "at+jwt";

export interface AccessTokenClaims {
  sub: string;
  role: "user" | "admin";
  sid: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export type JwtEnv = Pick<Env, "JWT_SIGNING_KEYS" | "JWT_ISSUER" | "JWT_AUDIENCE">;

interface KeySet {
  signing: { kid: string; key: CryptoKey };
  verifying: Map<string, CryptoKey>;
  /** Public JWKs for `/.well-known/jwks.json`. */
  publicJwks: JWK[];
  /** Tokens this key set already verified, with their claims (see `verifyAccessToken`). */
  verified: Map<string, AccessTokenClaims>;
}

/** Most verified tokens one isolate remembers (about 2 MB of tokens and claims). */
const VERIFIED_CACHE_SIZE = 5_000;

// CryptoKeys are not I/O objects, so caching them across requests is safe in workerd.
const keySets = new Map<string, Promise<KeySet>>();

async function loadKeySet(raw: string): Promise<KeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error("JWT_SIGNING_KEYS is not valid JSON");
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new Error("JWT_SIGNING_KEYS must be a non-empty array");
  const verifying = new Map<string, CryptoKey>();
  const publicJwks: JWK[] = [];
  let signing: KeySet["signing"] | undefined;
  for (const entry of parsed as JWK[]) {
    if (entry.kty !== "OKP" || entry.crv !== "Ed25519" || !entry.kid || !entry.x) {
      throw new Error("JWT_SIGNING_KEYS entries must be Ed25519 JWKs with a kid");
    }
    const publicJwk: JWK = {
      kty: "OKP",
      crv: "Ed25519",
      x: entry.x,
      kid: entry.kid,
      alg: ACCESS_TOKEN_ALG,
      use: "sig",
    };
    verifying.set(entry.kid, (await importJWK(publicJwk, ACCESS_TOKEN_ALG)) as CryptoKey);
    publicJwks.push(publicJwk);
    if (!signing) {
      if (!entry.d) throw new Error("the first JWT_SIGNING_KEYS entry must be a private key");
      signing = {
        kid: entry.kid,
        key: (await importJWK({ ...entry, alg: ACCESS_TOKEN_ALG }, ACCESS_TOKEN_ALG)) as CryptoKey,
      };
    }
  }
  return { signing: signing!, verifying, publicJwks, verified: new Map() };
}

function keySet(env: JwtEnv): Promise<KeySet> {
  let set = keySets.get(env.JWT_SIGNING_KEYS);
  if (!set) {
    set = loadKeySet(env.JWT_SIGNING_KEYS);
    set.catch(() => keySets.delete(env.JWT_SIGNING_KEYS));
    keySets.set(env.JWT_SIGNING_KEYS, set);
  }
  return set;
}

export async function publicJwks(env: JwtEnv): Promise<JWK[]> {
  return (await keySet(env)).publicJwks;
}

export async function signAccessToken(
  env: JwtEnv,
  subject: { userId: string; role: "user" | "admin"; sessionId: string },
): Promise<{ token: string; expiresIn: number }> {
  const { signing } = await keySet(env);
  const token = await new SignJWT({ role: subject.role, sid: subject.sessionId })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: signing.kid, typ: ACCESS_TOKEN_TYP })
    .setSubject(subject.userId)
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ACCESS_TOKEN_TTL_SECONDS}s`)
    .setJti(crypto.randomUUID())
    .sign(signing.key);
  return { token, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
}

export class InvalidAccessToken extends Error {
  constructor(readonly reason: string) {
    super(`invalid access token: ${reason}`);
    this.name = "InvalidAccessToken";
  }
}

/**
 * Verifies signature, algorithm, `typ`, `kid`, `iss`, `aud`, required claims and `exp`; throws
 * InvalidAccessToken. A token
 * that verified once is remembered with its key set until it expires: the same bytes under the
 * same keys verify the same way, and the EdDSA check was a fifth of the CPU of an authenticated
 * request. Revocation is not the token's business: the caller checks the session every time.
 */
export async function verifyAccessToken(env: JwtEnv, token: string): Promise<AccessTokenClaims> {
  const set = await keySet(env);
  const known = set.verified.get(token);
  if (known) {
    if (known.exp > Date.now() / 1000) return known;
    set.verified.delete(token);
  }
  const claims = await verifyWithKeys(env, set.verifying, token);
  if (set.verified.size >= VERIFIED_CACHE_SIZE) {
    // Drop the oldest (Map order is insertion order).
    set.verified.delete(set.verified.keys().next().value!);
  }
  set.verified.set(token, claims);
  return claims;
}

async function verifyWithKeys(
  env: JwtEnv,
  verifying: Map<string, CryptoKey>,
  token: string,
): Promise<AccessTokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? verifying.get(header.kid) : undefined;
        if (!key) throw new InvalidAccessToken("unknown kid");
        return key;
      },
      {
        algorithms: [ACCESS_TOKEN_ALG],
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ["sub", "sid", "role", "iat", "exp", "jti"],
      },
    ));
  } catch (err) {
    if (err instanceof InvalidAccessToken) throw err;
    throw new InvalidAccessToken((err as { code?: string }).code ?? "malformed");
  }
  if ((payload.role !== "user" && payload.role !== "admin") || typeof payload.sid !== "string") {
    throw new InvalidAccessToken("bad claims");
  }
  return payload as unknown as AccessTokenClaims;
}
