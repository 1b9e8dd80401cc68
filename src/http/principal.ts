import type { OrderLimitOverrides } from "../domain/market/order-limits";
import type { UserView } from "../domain/auth/user-view";

/** What an API key may do. A browser session (access token) may do all of it. */
export type Permission = "read" | "trade" | "withdraw";

export const ALL_PERMISSIONS: readonly Permission[] = ["read", "trade", "withdraw"];

/**
 * The authenticated caller of a request, set by the authentication middleware and read by
 * routes with `c.get("principal")`. Routes never parse credentials themselves.
 */
export interface Principal {
  userId: string;
  role: "user" | "admin";
  kycStatus: "pending" | "verified" | "rejected";
  emailVerified: boolean;
  via: "session" | "api_key";
  /** Present when `via` is "session". */
  sessionId?: string;
  /**
   * Present when `via` is "session": when the access token expires (Unix seconds). A socket
   * opened with the token loses its private channels then.
   */
  expiresAt?: number;
  /** Present when `via` is "api_key". */
  apiKeyId?: string;
  permissions: readonly Permission[];
  /** The API key's order-entry limits over the account's (unset: the exchange's defaults). */
  orderLimits?: OrderLimitOverrides;
}

/**
 * The principal of a user authenticated one way or another; `keyLimits` are the API key's own
 * order-entry limits, which win over the account's.
 */
export function principalOf(
  user: UserView,
  rest: Pick<Principal, "via" | "sessionId" | "expiresAt" | "apiKeyId" | "permissions">,
  keyLimits?: OrderLimitOverrides,
): Principal {
  const account = user.order_limits;
  return {
    userId: user.id,
    role: user.role,
    kycStatus: user.kyc_status,
    emailVerified: user.email_verified,
    ...rest,
    orderLimits: {
      per10s: keyLimits?.per10s ?? account?.per_10s ?? null,
      perDay: keyLimits?.perDay ?? account?.per_day ?? null,
    },
  };
}
