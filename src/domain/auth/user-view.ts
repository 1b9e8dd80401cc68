import type { users } from "../../db/schema";

export type UserRow = typeof users.$inferSelect;

/** The columns a `UserView` is made of (no password hash, no withdrawal settings). */
export type UserViewRow = Pick<
  UserRow,
  | "id"
  | "email"
  | "firstName"
  | "lastName"
  | "role"
  | "kycStatus"
  | "kycReason"
  | "status"
  | "emailVerifiedAt"
  | "twoFactorEnabledAt"
  | "createdAt"
  | "updatedAt"
  | "deletedAt"
  | "orderLimitPer10s"
  | "orderLimitPerDay"
>;

/** A user as the API shows it: never the password hash. */
export interface UserView {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: "user" | "admin";
  kyc_status: "pending" | "verified" | "rejected";
  kyc_reason: string | null;
  /** Older cached snapshots lack it: absent means active. */
  status?: "active" | "banned";
  email_verified: boolean;
  email_verified_at: string | null;
  two_factor_enabled: boolean;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  /** The account's own order-entry limits (null: the exchange's default). */
  order_limits: { per_10s: number | null; per_day: number | null };
}

export function toUserView(row: UserViewRow): UserView {
  return {
    id: row.id,
    email: row.email,
    first_name: row.firstName,
    last_name: row.lastName,
    role: row.role,
    kyc_status: row.kycStatus,
    kyc_reason: row.kycReason,
    status: row.status,
    email_verified: row.emailVerifiedAt !== null,
    email_verified_at: row.emailVerifiedAt?.toISOString() ?? null,
    two_factor_enabled: row.twoFactorEnabledAt !== null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    deleted_at: row.deletedAt?.toISOString() ?? null,
    order_limits: { per_10s: row.orderLimitPer10s, per_day: row.orderLimitPerDay },
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
