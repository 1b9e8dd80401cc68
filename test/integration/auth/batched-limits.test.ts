import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRedis } from "../../../src/http/resources";
import { BatchedLimits, KNOWLEDGE_MAX_AGE_MS } from "../../../src/services/auth/batched-limits";
import {
  checkRateLimit,
  checkRateLimitsAndRead,
  limitKey,
  type LimitCheck,
} from "../../../src/services/auth/rate-limit";
import { account, api, createApiKey, inOneWindow, login, signedFetch, verifiedUser } from "./helpers";

// The hot path's limits are judged from what an isolate knows and counted in batches. Each
// `isolate()` here has its own client and its own knowledge, as two isolates would.

function isolate(url = env.UPSTASH_REDIS_REST_URL) {
  const redis = createRedis({ ...env, UPSTASH_REDIS_REST_URL: url }, { hotPath: true });
  const limits = new BatchedLimits(redis);
  const work: Promise<unknown>[] = [];
  const errors: unknown[] = [];
  return {
    limits,
    errors,
    /** What a request does when Redis must answer: counts in one command, then learns. */
    async ask(l: LimitCheck) {
      const at = Date.now();
      const { verdicts, counts } = await checkRateLimitsAndRead(redis, [l], null);
      limits.learn([l], counts, at);
      return verdicts[0]!;
    },
    /** Starts the batched flush, then waits for it, as the request's waitUntil would. */
    async flush() {
      limits.flushSoon(
        (w) => work.push(w),
        (err) => errors.push(err),
      );
      while (work.length > 0) await work.shift();
    },
  };
}

const newLimit = (limit = 5): LimitCheck => ({
  name: `batched-${crypto.randomUUID()}`,
  limit,
  window: "1 m",
  identifier: crypto.randomUUID(),
});

/** The limit's count in its current window, as Redis holds it. */
async function countedInRedis(l: LimitCheck): Promise<number> {
  const value = await createRedis(env).get<number>(`${limitKey(l)}:${Math.floor(Date.now() / 60_000)}`);
  return Number(value ?? 0);
}

describe("batched limits", () => {
  it("judge here with the script's verdicts, refuse at the limit without counting, and count the rest in Redis", () =>
    inOneWindow(async () => {
      const a = isolate();
      const l = newLimit(5);
      expect(a.limits.admit([l]), "nothing known yet: ask Redis").toBeNull();
      expect(await a.ask(l)).toMatchObject({ success: true, remaining: 4 });
      const here = [1, 2, 3, 4, 5].map(() => a.limits.admit([l])![0]!);
      expect(here.map((v) => [v.success, v.remaining])).toEqual([
        [true, 3],
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      expect(await countedInRedis(l), "admitted here, not sent yet").toBe(1);
      await a.flush();
      expect(a.errors).toEqual([]);
      expect(await countedInRedis(l), "the refused request is not counted").toBe(5);
      // The library, counting into the same window, refuses the sixth too.
      expect((await checkRateLimit(createRedis(env), l.name, l.limit, l.window, l.identifier)).success).toBe(
        false,
      );
      // The flush's report renewed what this isolate knows: still judged here, still refused.
      expect(a.limits.admit([l])![0]).toMatchObject({ success: false, remaining: 0 });
    }));

  it("another isolate sees the batched counts; an isolate sees the others' once Redis reports them", () =>
    inOneWindow(async () => {
      const a = isolate();
      const b = isolate();
      const l = newLimit(6);
      await a.ask(l);
      a.limits.admit([l]);
      a.limits.admit([l]);
      await a.flush();
      // b knows nothing: it asks Redis, which counted a's three, and counts its own.
      expect(await b.ask(l)).toMatchObject({ success: true, remaining: 2 });
      expect(b.limits.admit([l])![0]).toMatchObject({ success: true, remaining: 1 });
      await b.flush();
      // a last heard of three: it admits one more (the bounded overshoot between isolates) …
      expect(a.limits.admit([l])![0]).toMatchObject({ success: true, remaining: 2 });
      await a.flush();
      expect(await countedInRedis(l)).toBe(6);
      // … and its flush brought back the others' counts: full.
      expect(a.limits.admit([l])![0]).toMatchObject({ success: false, remaining: 0 });
    }));

  it("never judges on counts older than KNOWLEDGE_MAX_AGE_MS", () =>
    inOneWindow(async () => {
      const a = isolate();
      const l = newLimit(5);
      await a.ask(l);
      const now = Date.now();
      expect(a.limits.admit([l], now)).not.toBeNull();
      expect(a.limits.admit([l], now + KNOWLEDGE_MAX_AGE_MS + 1)).toBeNull();
      await a.flush();
    }));

  it("a flush Redis does not take is reported, and what it carried is no longer held against the limit", () =>
    inOneWindow(async () => {
      const a = isolate("http://127.0.0.1:9");
      const l = newLimit(3);
      a.limits.learn([l], [{ index: Math.floor(Date.now() / 60_000), current: 1, previous: 0 }], Date.now());
      expect(a.limits.admit([l])![0]).toMatchObject({ success: true, remaining: 1 });
      await a.flush();
      expect(a.errors).toHaveLength(1);
      expect(a.limits.admit([l])![0]).toMatchObject({ success: true, remaining: 1 });
    }));

  it("a flush sent while more are admitted leaves a flush on its way for them: every admitted count reaches Redis", () =>
    inOneWindow(async () => {
      const a = isolate();
      const l = newLimit(10_000);
      await a.ask(l);
      let admitted = 0;
      const admit = () => {
        if (a.limits.admit([l])![0]!.success) admitted++;
        a.limits.flushSoon(
          (w) => work.push(w),
          (err) => a.errors.push(err),
        );
      };
      const work: Promise<unknown>[] = [];
      admit();
      let settled = false;
      void work[0]!.finally(() => (settled = true));
      // Admitted back to back while the first flushes run, stopping when the first one's work ends.
      while (!settled) {
        admit();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      while (work.length > 0) await work.shift();
      expect(a.errors).toEqual([]);
      expect(await countedInRedis(l)).toBe(1 + admitted);
    }));
});

// Each burst runs inside one minute: one that crosses a minute's end runs again (inOneWindow).
describe("one isolate's requests racing to Redis", { timeout: 75_000 }, () => {
  const LIMIT = Number(env.RATE_LIMIT_USER_PER_MINUTE);

  it("a new session's concurrent burst admits no more than the limit", () =>
    inOneWindow(async () => {
      const { access_token } = await login((await account()).email);
      const res = await Promise.all(
        Array.from({ length: 3 * LIMIT }, () => api("GET", "/api/v1/users/me", { token: access_token })),
      );
      expect(res.filter((r) => r.status === 200).length).toBeLessThanOrEqual(LIMIT);
      expect(res.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    }));

  it("a new API key's concurrent burst admits no more than the limit", () =>
    inOneWindow(async () => {
      const user = await verifiedUser();
      const key = await createApiKey(user.tokens.access_token, ["read"]);
      const res = await Promise.all(
        Array.from({ length: 2 * LIMIT }, (_, i) => signedFetch(key, "GET", `/api/v1/users/me?n=${i}`)),
      );
      expect(res.filter((r) => r.status === 200).length).toBeLessThanOrEqual(LIMIT);
      expect(res.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    }));
});
