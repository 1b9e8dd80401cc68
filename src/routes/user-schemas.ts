import { z } from "@hono/zod-openapi";
import { CONTEXT_WORDS, isCommonPassword, leansOnContext, userContextWords } from "../lib/common-passwords";

/** Passwords are checked exactly as typed: no trimming, no composition rules, 8-128 characters. */
export const NewPasswordSchema = z
  .string()
  .refine((pw) => [...pw].length >= 8, "Password must be at least 8 characters")
  .refine((pw) => [...pw].length <= 128, "Password must be at most 128 characters")
  .refine(async (pw) => !(await isCommonPassword(pw)), "This password is too common; choose another")
  .refine(
    (pw) => !leansOnContext(pw, CONTEXT_WORDS),
    "This password is built on the product's name; choose another",
  )
  .openapi({ example: "correct horse battery staple", minLength: 8, maxLength: 128 });

/** A 6-digit code from the authenticator app; needed for sensitive changes while 2FA is on. */
export const TotpCodeSchema = z
  .string()
  .regex(/^\d{6}$/, "six digits")
  .openapi({ example: "123456", description: "The current code of the authenticator app (2FA on)" });
export const RecoveryCodeSchema = z
  .string()
  .min(8)
  .max(32)
  .regex(/^[A-Za-z0-9 -]+$/)
  .openapi({ example: "abcd-efgh-jkmn", description: "One of the one-time recovery codes" });

/** What a password change, reset or withdraw-key creation ends and starts, for the reply. */
export const SecurityEffectsSchema = {
  revoked_sessions: z.number().int(),
  revoked_api_keys: z.number().int(),
  withdrawals_held_until: z
    .string()
    .openapi({ description: "No withdrawal before this instant (24 h hold)" }),
};

/** One line of printable text: names never hold control characters (tab and newline included). */
/** A registration or reset body: the password must not be built on the email's local part either. */
export const notBuiltOnEmail = (value: { email: string; password: string }, ctx: z.RefinementCtx) => {
  if (leansOnContext(value.password, userContextWords(value.email))) {
    ctx.addIssue({
      code: "custom",
      path: ["password"],
      message: "This password is built on your email address; choose another",
    });
  }
};

export const NameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^\P{Cc}*$/u, "must not contain control characters");
export const EmailSchema = z.email().max(254).openapi({ example: "alice@example.com" });

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    role: z.enum(["user", "admin"]),
    kyc_status: z.enum(["pending", "verified", "rejected"]),
    kyc_reason: z.string().nullable(),
    status: z.enum(["active", "banned"]).optional(),
    email_verified: z.boolean(),
    email_verified_at: z.string().nullable(),
    two_factor_enabled: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    deleted_at: z.string().nullable(),
    order_limits: z
      .object({ per_10s: z.number().int().nullable(), per_day: z.number().int().nullable() })
      .openapi({ description: "The account's own order-entry limits; null: the exchange's default." }),
  })
  .openapi("User");

export const TokenPairSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ example: 900 }),
    refresh_token: z.string(),
    user: UserSchema,
  })
  .openapi("TokenPair");

export const SessionSchema = z
  .object({
    id: z.uuid(),
    device_label: z.string().nullable(),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    created_at: z.string(),
    last_used_at: z.string(),
    expires_at: z.string(),
    current: z.boolean(),
  })
  .openapi("Session");

export const PermissionSchema = z.enum(["read", "trade", "withdraw"]);

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    key: z.string().openapi({ description: "The public key id to send as X-API-Key" }),
    label: z.string(),
    permissions: z.array(PermissionSchema),
    ip_allowlist: z.array(z.string()).nullable(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .openapi("ApiKey");

export const IdParamSchema = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

export const bearerSecurity = [{ bearerAuth: [] }];

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true as const },
});

/** A JSON response entry. */
export const jsonReply = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});
