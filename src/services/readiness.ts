import { sql } from "drizzle-orm";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "../db/client";
import type { Logger } from "../lib/logger";

/** Only whether a dependency answered: its error stays in the log (it may name hosts and users). */
export type CheckResult = "ok" | "unreachable";
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

async function check(
  name: string,
  probe: () => Promise<unknown>,
  log: Logger | undefined,
): Promise<CheckResult> {
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
    log?.warn("readiness check failed", { dependency: name, cause: rootCause(err) });
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

/** Can this Worker reach everything it needs to serve traffic? Both checks run in parallel. */
export async function checkReadiness(db: Database, redis: Redis, log?: Logger): Promise<Readiness> {
  const [postgres, redisResult] = await Promise.all([
    check("postgres", () => db.execute(sql`select 1`), log),
    check("redis", () => redis.ping(), log),
  ]);
  return { ready: postgres === "ok" && redisResult === "ok", checks: { postgres, redis: redisResult } };
}
