import type { UserView } from "../services/auth/user-view";

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
}

/** The principal of a user authenticated one way or another. */
export function principalOf(
  user: UserView,
  rest: Pick<Principal, "via" | "sessionId" | "expiresAt" | "apiKeyId" | "permissions">,
): Principal {
  return {
    userId: user.id,
    role: user.role,
    kycStatus: user.kyc_status,
    emailVerified: user.email_verified,
    ...rest,
  };
}
