import { sql } from "drizzle-orm";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "../db/client";

export type CheckResult = "ok" | `error: ${string}`;
export interface Readiness {
  ready: boolean;
  checks: { postgres: CheckResult; redis: CheckResult };
}

const CHECK_TIMEOUT_MS = 2_000;

/** drizzle wraps driver errors ("Failed query: ..."); the driver's own message says what broke. */
function rootCause(err: unknown): string {
  let current = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

async function check(probe: () => Promise<unknown>): Promise<CheckResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return "ok";
  } catch (err) {
    return `error: ${rootCause(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Can this Worker reach everything it needs to serve traffic? Both checks run in parallel. */
export async function checkReadiness(db: Database, redis: Redis): Promise<Readiness> {
  const [postgres, redisResult] = await Promise.all([
    check(() => db.execute(sql`select 1`)),
    check(() => redis.ping()),
  ]);
  return { ready: postgres === "ok" && redisResult === "ok", checks: { postgres, redis: redisResult } };
}
