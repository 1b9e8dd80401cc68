import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ipBanKeys } from "../../../src/binance/ip-ban";
import { REQUEST_WEIGHT_PER_MINUTE, weightLimit } from "../../../src/binance/weights";
import { createRedis } from "../../../src/http/resources";
import { checkRateLimitsAndRead, limitKey } from "../../../src/services/auth/rate-limit";
import { refusedCallers } from "../../../src/services/auth/refused-callers";
import { inOneWindow, randomIp } from "../auth/helpers";
import { binanceError, ok, publicGet } from "./helpers";

/** Sets the IP's weight used in the current minute (none in the one before), as Redis counts it. */
async function used(ip: string, weight: number): Promise<string> {
  const key = `${limitKey(weightLimit(ip))}:${Math.floor(Date.now() / 60_000)}`;
  await createRedis(env).set(key, weight, { px: 121_000 });
  return key;
}

describe("Binance request weight: a request too heavy for what is left", () => {
  it("is refused and not charged; lighter ones that fit are served, and no ban follows", () =>
    inOneWindow(async () => {
      const ip = randomIp();
      const key = await used(ip, 5_990);
      // exchangeInfo weighs 20: 10 are left.
      const heavy = await publicGet("/exchangeInfo", {}, ip);
      expect(heavy.headers.get("x-mbx-used-weight-1m")).toBe("5990");
      await binanceError(heavy, 429, -1003);
      // Binance serves the 10 weight-1 requests that fit (the reviewer's case: 9 of them were
      // refused from the isolate's record of the heavy refusal, and the 10th refusal banned the IP).
      for (let i = 1; i <= 10; i++) {
        const light = await publicGet("/ping", {}, ip);
        expect(light.status).toBe(200);
        expect(light.headers.get("x-mbx-used-weight-1m")).toBe(String(5_990 + i));
      }
      // Now the minute is used up: even the lightest request is refused.
      await binanceError(publicGet("/ping", {}, ip), 429, -1003);
      const redis = createRedis(env);
      expect(Number(await redis.get(key))).toBe(REQUEST_WEIGHT_PER_MINUTE);
      expect(await redis.get(ipBanKeys(ip).ban)).toBeNull();
      expect(Number(await redis.get(ipBanKeys(ip).refusals))).toBe(2);
      await ok(publicGet("/ping", {}, randomIp()));
    }));

  it("leaves no record in the isolate unless the minute was used up before it", () =>
    inOneWindow(async () => {
      const redis = createRedis(env);
      const ip = randomIp();
      const limit = weightLimit(ip);
      const refused = refusedCallers(limit.name, limit.limit, limit.window);
      await used(ip, 5_990);

      const tooHeavy = await checkRateLimitsAndRead(redis, [limit], null, 20);
      expect(tooHeavy.verdicts[0]).toMatchObject({ success: false, remaining: 10 });
      expect(tooHeavy.counts[0]).toMatchObject({ current: 5_990 });
      expect(refused.has(limitKey(limit))).toBe(false);

      const fits = await checkRateLimitsAndRead(redis, [limit], null, 10);
      expect(fits.verdicts[0]).toMatchObject({ success: true, remaining: 0 });
      expect(fits.counts[0]).toMatchObject({ current: 6_000 });

      const usedUp = await checkRateLimitsAndRead(redis, [limit], null, 1);
      expect(usedUp.verdicts[0]).toMatchObject({ success: false, remaining: 0 });
      expect(refused.has(limitKey(limit))).toBe(true);
      // Refused again from the record, without a Redis command (no counts).
      const again = await checkRateLimitsAndRead(redis, [limit], null, 1);
      expect(again).toMatchObject({ verdicts: [{ success: false, remaining: 0 }], counts: [null] });
    }));
});
