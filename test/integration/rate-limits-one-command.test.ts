import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRedis, sharedRedis } from "../../src/http/resources";
import { checkRateLimit, checkRateLimitsAndRead, limitKey } from "../../src/services/auth/rate-limit";
import { MAX_REFUSED_CALLERS, RefusedCallers, refusedCallers } from "../../src/services/auth/refused-callers";

// The authenticated hot path counts its limits in one Redis command of its own
// (`checkRateLimitsAndRead`); every other limit goes through @upstash/ratelimit. Both must count
// into the same windows of a limiter, with the same verdicts.

describe("limits counted in one command", () => {
  it("share each window with @upstash/ratelimit, refuse at the limit and read the key", async () => {
    const library = createRedis(env);
    const redis = sharedRedis(env);
    const name = `one-command-${crypto.randomUUID()}`;
    const identifier = crypto.randomUUID();
    const other = crypto.randomUUID();
    const limit = { name, limit: 5, window: "1 m" as const, identifier };

    // Two through the library, then three in one command each: five in the window.
    for (let i = 0; i < 2; i++)
      expect((await checkRateLimit(library, name, 5, "1 m", identifier)).success).toBe(true);
    await library.set(`key-${identifier}`, JSON.stringify({ read: "me" }));
    for (let i = 0; i < 3; i++) {
      const { verdicts, value } = await checkRateLimitsAndRead<{ read: string }>(
        redis,
        [limit, { ...limit, identifier: other }],
        `key-${identifier}`,
      );
      expect(value).toEqual({ read: "me" });
      expect(verdicts.map((v) => [v.success, v.limit, v.remaining])).toEqual([
        [true, 5, 5 - 3 - i],
        [true, 5, 5 - 1 - i],
      ]);
      expect(verdicts[0]!.reset).toBeGreaterThan(Date.now());
    }
    // The sixth is refused by both, counted by neither; the other identifier has its own budget.
    const sixth = await checkRateLimitsAndRead(redis, [limit], null);
    expect(sixth).toEqual({
      verdicts: [expect.objectContaining({ success: false, remaining: 0 })],
      value: null,
      // What Redis holds after the command: five in this window, none in the previous one.
      counts: [{ index: expect.any(Number), current: 5, previous: 0 }],
    });
    expect((await checkRateLimit(library, name, 5, "1 m", identifier)).success).toBe(false);
    expect((await checkRateLimit(library, name, 5, "1 m", other)).remaining).toBe(1);
    // Both keep the refused caller in the limit's one bounded map (refused-callers.ts).
    const refused = refusedCallers(name, 5, "1 m");
    expect(refused).toBeInstanceOf(RefusedCallers);
    expect(refused.maxEntries).toBe(MAX_REFUSED_CALLERS);
    expect([...refused.keys()]).toEqual([limitKey(limit)]);

    // A key that does not exist reads as null.
    const { value } = await checkRateLimitsAndRead(redis, [], `absent-${identifier}`);
    expect(value).toBeNull();
  });
});
