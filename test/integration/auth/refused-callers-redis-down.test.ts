import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { weightLimit } from "../../../src/binance/weights";
import { createRedis } from "../../../src/http/resources";
import worker from "../../../src/index";
import {
  checkRateLimit,
  checkRateLimitsAndRead,
  limitKey,
  type LimitCheck,
} from "../../../src/services/auth/rate-limit";
import { MAX_REFUSED_CALLERS, refusedCallers } from "../../../src/services/auth/refused-callers";
import { inOneWindow, randomIp } from "./helpers";

// An isolate keeps the callers it refused (at most MAX_REFUSED_CALLERS per limit) and refuses
// them again without Redis. When Redis is down the general limits fail open, so a flood of
// distinct refused callers must not push an earlier one out of that record.

const down = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" };

/** Sets each limit's current window to `count` in one command (expiring as the limiter's keys do). */
async function counted(limits: readonly LimitCheck[], count: number): Promise<void> {
  const index = Math.floor(Date.now() / 60_000);
  await createRedis(env).eval(
    "for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', 121000) end",
    limits.map((l) => `${limitKey(l)}:${index}`),
    [String(count)],
  );
}

/** Refuses `limits` in Redis, in commands of 1,000 (each is recorded in the isolate if there is room). */
async function refuseAll(limits: readonly LimitCheck[]): Promise<void> {
  const redis = createRedis(env);
  for (let i = 0; i < limits.length; i += 1_000) {
    const { verdicts } = await checkRateLimitsAndRead(redis, limits.slice(i, i + 1_000), null);
    expect(verdicts.every((v) => !v.success)).toBe(true);
  }
}

async function binancePing(ip: string, redisDown: boolean): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://x/api/v3/ping", { headers: { "cf-connecting-ip": ip } }),
    redisDown ? down : env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("refused callers while Redis is down", () => {
  it("a flood of distinct refused callers does not push out one refused before it", () =>
    inOneWindow(async () => {
      const name = `refused-${crypto.randomUUID()}`;
      const limit = (identifier: string): LimitCheck => ({ name, limit: 1, window: "1 m", identifier });
      const redis = createRedis(env);
      expect((await checkRateLimit(redis, name, 1, "1 m", "abuser")).success).toBe(true);
      expect((await checkRateLimit(redis, name, 1, "1 m", "abuser")).success).toBe(false);
      const flood = Array.from({ length: MAX_REFUSED_CALLERS }, (_, i) => limit(`flood-${i}`));
      await counted(flood, 1);
      await refuseAll(flood);

      const record = refusedCallers(name, 1, "1 m");
      expect(record.size).toBe(MAX_REFUSED_CALLERS);
      expect(record.has(limitKey(limit("abuser")))).toBe(true);
      const last = flood.at(-1)!;
      expect(record.has(limitKey(last))).toBe(false);

      // Redis goes down: the abuser is still refused, through the library and the one command.
      const gone = createRedis(down);
      expect(await checkRateLimit(gone, name, 1, "1 m", "abuser")).toMatchObject({
        success: false,
        remaining: 0,
      });
      const { verdicts } = await checkRateLimitsAndRead(gone, [limit("abuser")], null);
      expect(verdicts).toMatchObject([{ success: false, remaining: 0 }]);
      // The one not recorded asks Redis (its caller then fails open: the documented price of the bound).
      await expect(checkRateLimit(gone, name, 1, "1 m", last.identifier)).rejects.toThrow();
    }));

  it("an IP out of Binance request weight stays refused, however many others were refused since", () =>
    inOneWindow(async () => {
      const abuser = randomIp();
      await counted([weightLimit(abuser)], 6_000);
      expect((await binancePing(abuser, false)).status).toBe(429);
      const flood = Array.from({ length: MAX_REFUSED_CALLERS }, (_, i) =>
        weightLimit(`10.255.${i >> 8}.${i & 255}`),
      );
      await counted(flood, 6_000);
      try {
        await refuseAll(flood);

        // The ban's read fails too: before, that failure let a refusal known here through.
        const refused = await binancePing(abuser, true);
        expect(refused.status).toBe(429);
        expect(await refused.json()).toMatchObject({ code: -1003 });
        // An IP never refused here fails open, as the general limits do without Redis.
        expect((await binancePing(randomIp(), true)).status).toBe(200);
      } finally {
        // The isolate's record of refused IPs is shared with the next files (isolate: false):
        // a full one would refuse to record their callers until this minute ends.
        const { name, limit, window } = weightLimit(abuser);
        const record = refusedCallers(name, limit, window);
        for (const l of [weightLimit(abuser), ...flood]) record.delete(limitKey(l));
      }
    }));
});
