import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { RefusedCallers } from "../../../src/services/auth/refused-callers";

describe("refused callers", () => {
  it("never hold more than their bound: the callers they hold stay, a newer one is not recorded", () => {
    const callers = new RefusedCallers(3, () => 0);
    for (let i = 0; i < 1_000; i++) callers.set(`caller-${i}`, 60_000);
    expect(callers.size).toBe(3);
    // A flood of distinct callers never pushes out one refused before it (an abuser stays refused).
    expect([...callers.keys()]).toEqual(["caller-0", "caller-1", "caller-2"]);
    // One held, refused again, is still recorded (with its new reset), and takes no room.
    callers.set("caller-1", 120_000);
    expect([...callers.entries()]).toEqual([
      ["caller-0", 60_000],
      ["caller-2", 60_000],
      ["caller-1", 120_000],
    ]);
  });

  it("make room only as the callers they hold expire", () => {
    let now = 0;
    const callers = new RefusedCallers(3, () => now);
    callers.set("a", 1_000);
    callers.set("b", 2_000);
    callers.set("c", 3_000);
    now = 1_500;
    callers.set("d", 61_500); // "a" expired: it goes
    callers.set("e", 61_500); // full of live callers: not recorded
    expect([...callers.keys()]).toEqual(["b", "c", "d"]);
    now = 3_000; // "b" expired, "c" frees up only after 3,000
    callers.set("e", 63_000);
    expect([...callers.keys()]).toEqual(["c", "d", "e"]);
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
    // A caller held (the first 50) is refused in the isolate, without asking Redis again; one
    // not recorded asks Redis, which refuses it.
    expect(await limiter.limit("flood-0")).toMatchObject({ success: false, reason: "cacheBlock" });
    expect(await limiter.limit("flood-49")).toMatchObject({ success: false, reason: "cacheBlock" });
    expect(await limiter.limit("flood-499")).toMatchObject({ success: false });
    expect(await limiter.limit("flood-499")).not.toHaveProperty("reason", "cacheBlock");
  });
});
