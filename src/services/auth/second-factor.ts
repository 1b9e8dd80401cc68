import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { recoveryCodes, userTotp } from "../../db/schema";
import { decryptSecret, encryptSecret } from "../../lib/api-key-crypto";
import { AppError, ErrorCode, serviceUnavailable } from "../../lib/errors";
import { matchTotpStep } from "../../lib/totp";
import { sha256Hex } from "../../lib/secure-random";
import { checkRateLimit, rateLimitHeaders } from "./rate-limit";

/**
 * The second factor: a TOTP code (single use: each accepted code stores its time step, and no
 * code of that step or an earlier one is accepted again) or a one-time recovery code. Checks
 * are limited per user (10 per 15 minutes), so a password alone cannot brute-force the code.
 */

export interface SecondFactorProof {
  totpCode?: string;
  recoveryCode?: string;
}

export interface SecondFactorDeps {
  redis: Redis;
  env: Pick<Env, "API_KEY_ENCRYPTION_KEY">;
}

const ATTEMPTS_PER_15_MINUTES = 10;
export const RECOVERY_CODE_COUNT = 10;

// TOTP secrets share API keys' encryption key; the associated data keeps the two apart.
const secretContext = (userId: string) => `totp:${userId}`;

export function sealTotpSecret(
  env: SecondFactorDeps["env"],
  userId: string,
  secret: string,
): Promise<string> {
  return encryptSecret(env.API_KEY_ENCRYPTION_KEY, secretContext(userId), secret);
}

/**
 * Accepts `code` if it matches the user's secret at a step after the last one used, and
 * records that step (one conditional UPDATE, so two requests with one code cannot both pass).
 */
export async function consumeTotp(
  env: SecondFactorDeps["env"],
  db: DbExecutor,
  userId: string,
  code: string,
  nowMs = Date.now(),
): Promise<boolean> {
  const [row] = await db.select().from(userTotp).where(eq(userTotp.userId, userId));
  if (!row) return false;
  const secret = await decryptSecret(env.API_KEY_ENCRYPTION_KEY, secretContext(userId), row.secretCiphertext);
  const step = matchTotpStep(secret, code, nowMs);
  if (step === null) return false;
  const used = await db
    .update(userTotp)
    .set({ lastUsedStep: step })
    .where(
      and(eq(userTotp.userId, userId), or(isNull(userTotp.lastUsedStep), lt(userTotp.lastUsedStep, step))),
    )
    .returning({ step: userTotp.lastUsedStep });
  return used.length === 1;
}

const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"; // no 0/o, 1/l/i to misread

/** `xxxx-xxxx-xxxx`: 12 characters of a 31-letter alphabet (about 59 bits). */
export function newRecoveryCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let code = "";
  for (let i = 0; i < bytes.length; i++) {
    // 256 mod 31 leaves a bias under 4% between letters: negligible at 59 bits.
    code += RECOVERY_ALPHABET[bytes[i]! % RECOVERY_ALPHABET.length];
    if (i === 3 || i === 7) code += "-";
  }
  return code;
}

/** Recovery codes are compared without case, spaces or dashes, as users retype them. */
export const recoveryCodeHash = (code: string) => sha256Hex(code.toLowerCase().replace(/[^a-z0-9]/g, ""));

async function consumeRecoveryCode(db: DbExecutor, userId: string, code: string): Promise<boolean> {
  const used = await db
    .update(recoveryCodes)
    .set({ usedAt: new Date() })
    .where(
      and(
        eq(recoveryCodes.userId, userId),
        eq(recoveryCodes.codeHash, await recoveryCodeHash(code)),
        isNull(recoveryCodes.usedAt),
      ),
    )
    .returning({ id: recoveryCodes.id });
  return used.length === 1;
}

/** One attempt against the per-user limit; fails closed when the limiter is unavailable. */
async function countAttempt(redis: Redis, userId: string): Promise<void> {
  let verdict;
  try {
    verdict = await checkRateLimit(redis, "second-factor", ATTEMPTS_PER_15_MINUTES, "15 m", userId);
  } catch {
    throw serviceUnavailable("Two-factor verification is temporarily unavailable");
  }
  if (!verdict.success) {
    throw new AppError(
      429,
      ErrorCode.RATE_LIMITED,
      "Too many two-factor attempts; try again later",
      undefined,
      rateLimitHeaders(verdict),
    );
  }
}

/**
 * With 2FA on, the request must carry a fresh code: nothing sent → TWO_FACTOR_REQUIRED, a
 * wrong, reused or stale one → INVALID_TWO_FACTOR_CODE (401 at sign-in, 403 for a signed-in
 * user's sensitive change). Run inside the caller's transaction, a code is spent only if the
 * change commits. Without 2FA this does nothing.
 */
export async function requireSecondFactor(
  deps: SecondFactorDeps,
  db: DbExecutor,
  user: { id: string; twoFactorEnabledAt: Date | null },
  proof: SecondFactorProof,
  status: 401 | 403 = 403,
): Promise<void> {
  if (!user.twoFactorEnabledAt) return;
  if (!proof.totpCode && !proof.recoveryCode) {
    throw new AppError(status, ErrorCode.TWO_FACTOR_REQUIRED, "A two-factor code is required");
  }
  await countAttempt(deps.redis, user.id);
  const ok = proof.totpCode
    ? await consumeTotp(deps.env, db, user.id, proof.totpCode)
    : await consumeRecoveryCode(db, user.id, proof.recoveryCode!);
  if (!ok) {
    throw new AppError(
      status,
      ErrorCode.INVALID_TWO_FACTOR_CODE,
      "The two-factor code is wrong or was already used",
    );
  }
}
