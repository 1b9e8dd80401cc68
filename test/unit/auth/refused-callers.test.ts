import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { RefusedCallers } from "../../../src/services/auth/refused-callers";

describe("refused callers", () => {
  it("never hold more than their bound: the oldest caller goes first", () => {
    const callers = new RefusedCallers(3, () => 0);
    for (let i = 0; i < 1_000; i++) callers.set(`caller-${i}`, 60_000);
    expect(callers.size).toBe(3);
    expect([...callers.keys()]).toEqual(["caller-997", "caller-998", "caller-999"]);
  });

  it("drop expired callers before live ones, and move a refused-again caller to the back", () => {
    let now = 0;
    const callers = new RefusedCallers(3, () => now);
    callers.set("a", 1_000);
    callers.set("b", 61_000);
    callers.set("c", 61_000);
    now = 2_000;
    callers.set("d", 62_000); // "a" expired: it goes, the live ones stay
    expect([...callers.keys()]).toEqual(["b", "c", "d"]);
    callers.set("b", 63_000); // "b" again: no room needed, it moves to the back
    expect([...callers.entries()]).toEqual([
      ["c", 61_000],
      ["d", 62_000],
      ["b", 63_000],
    ]);
  });

  it("stay bounded as @upstash/ratelimit's ephemeral cache under a flood of distinct callers", async () => {
    // A Redis that refuses every caller: its sliding window's script answers -1 tokens left.
    const redis = {
      evalsha: async () => [-1, 1],
      eval: async () => [-1, 1],
    } as unknown as Redis;
    const callers = new RefusedCallers(50);
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(1, "1 m"),
      ephemeralCache: callers,
      timeout: 0,
      analytics: false,
      enableTelemetry: false,
    });
    for (let i = 0; i < 500; i++) expect((await limiter.limit(`flood-${i}`)).success).toBe(false);
    expect(callers.size).toBe(50);
    // A caller still held is refused in the isolate, without asking Redis again.
    const held = await limiter.limit("flood-499");
    expect(held).toMatchObject({ success: false, reason: "cacheBlock" });
  });
});
