import type { Context } from "hono";
import type { AppEnv } from "./app-env";

/** Who asked, from where: stored with audit entries and domain events. */
export interface RequestMetadata {
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export function requestMetadata(c: Context<AppEnv>): RequestMetadata {
  return {
    // Cloudflare sets CF-Connecting-IP at the edge; clients cannot forge it there.
    ipAddress: c.req.header("cf-connecting-ip") ?? null,
    userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
    requestId: c.get("requestId") ?? null,
  };
}

export const SYSTEM_METADATA: RequestMetadata = { ipAddress: null, userAgent: null, requestId: null };
