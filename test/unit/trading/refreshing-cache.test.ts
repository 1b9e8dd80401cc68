import { describe, expect, it } from "vitest";
import { NoSuchValue, RefreshingCache } from "../../../src/services/trading/refreshing-cache";

/** A cache on a hand-moved clock, and a loader that counts its calls and can be held open. */
function setup() {
  let now = 0;
  const cache = new RefreshingCache<string>(2_000, 1_000, () => now);
  let loads = 0;
  let release: (() => void) | undefined;
  const load =
    (value: string, hold = false) =>
    async () => {
      loads++;
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      return value;
    };
  const get = (value: string, hold = false) => cache.get("BTC-USDT", load(value, hold));
  return {
    cache,
    load,
    get,
    loads: () => loads,
    at: (ms: number) => (now = ms),
    release: () => release!(),
    /** "v1" cached at 0, then at 1.5 s a caller starts renewing it to "v2" (held open until `release`). */
    renewing: async () => {
      await get("v1");
      now = 1_500;
      return { renewed: get("v2", true) };
    },
  };
}

describe("RefreshingCache", () => {
  it("serves an entry younger than the refresh age without loading", async () => {
    const t = setup();
    expect(await t.get("v1")).toBe("v1");
    t.at(999);
    expect(await t.get("v2")).toBe("v1");
    expect(t.loads()).toBe(1);
  });

  it("past the refresh age, one caller loads while the others are served the cached value", async () => {
    const t = setup();
    const { renewed } = await t.renewing();
    const others = await Promise.all(Array.from({ length: 20 }, () => t.get("v3")));
    expect(others).toEqual(Array(20).fill("v1"));
    t.release();
    expect(await renewed).toBe("v2");
    expect(await t.get("v4")).toBe("v2");
    expect(t.loads()).toBe(2);
  });

  it("never serves a value older than the maximum age, even while a renewal is under way", async () => {
    const t = setup();
    await t.renewing();
    t.at(2_000);
    expect(await t.get("v3")).toBe("v3");
    t.release();
  });

  it("a failed renewal is served the cached value while it is younger than the maximum age", async () => {
    const t = setup();
    await t.get("v1");
    t.at(1_200);
    const down = () => Promise.reject(new Error("Postgres down"));
    expect(await t.cache.get("BTC-USDT", down)).toBe("v1");
    // The failure is not cached: the next caller loads.
    expect(await t.get("v2")).toBe("v2");
    expect(t.loads()).toBe(2);
  });

  it("a failed load is thrown past the maximum age, when nothing is cached, or when `fresh`", async () => {
    const t = setup();
    const down = () => Promise.reject(new Error("Postgres down"));
    await expect(t.cache.get("BTC-USDT", down)).rejects.toThrow("Postgres down");
    await t.get("v1");
    t.at(500);
    await expect(t.cache.get("BTC-USDT", down, true)).rejects.toThrow("Postgres down");
    t.at(2_000);
    await expect(t.cache.get("BTC-USDT", down)).rejects.toThrow("Postgres down");
    expect(await t.get("v2")).toBe("v2");
  });

  it("a slow renewal never replaces a later one nor makes what it read look newer", async () => {
    const t = setup();
    await t.get("v1");
    t.at(1_000);
    const slow = t.get("v2", true); // renewal reading at 1 s, answering late
    t.at(2_000);
    expect(await t.get("v3")).toBe("v3"); // v1 is 2 s old: read again, at 2 s
    t.at(5_000);
    t.release();
    expect(await slow).toBe("v3"); // the later read wins
    t.at(5_900);
    // v3 (read at 2 s) is past the maximum age; v2 (read at 1 s) must not come back either.
    expect(await t.get("v4")).toBe("v4");
  });

  it("`fresh` always loads; keys are cached apart", async () => {
    const t = setup();
    await t.get("v1");
    expect(await t.cache.get("BTC-USDT", t.load("v2"), true)).toBe("v2");
    expect(await t.cache.get("ETH-USDT", t.load("e1"))).toBe("e1");
    expect(await t.get("v3")).toBe("v2");
  });

  it("`delete` forgets a key at once, and a load that started before it answers its caller uncached", async () => {
    const t = setup();
    await t.get("v1");
    t.at(1_000);
    const before = t.get("revoked", true); // a renewal reading before the revocation
    t.at(1_100);
    t.cache.delete("BTC-USDT");
    t.release();
    expect(await before).toBe("revoked");
    t.at(1_200);
    expect(await t.get("v2")).toBe("v2"); // loaded anew: neither v1 nor the early read was kept
    expect(await t.get("v3")).toBe("v2");
  });

  it("keeps at most `maxEntries`, dropping the oldest", async () => {
    const cache = new RefreshingCache<string>(2_000, 1_000, () => 0, 2);
    for (const key of ["a", "b", "c"]) await cache.get(key, async () => key);
    let loads = 0;
    const load = async () => `${++loads}`;
    expect(await cache.get("c", load)).toBe("c");
    expect(await cache.get("b", load)).toBe("b");
    expect(await cache.get("a", load)).toBe("1");
  });

  it("a load answering NoSuchValue is thrown, the cached copy forgotten, never served", async () => {
    const t = setup();
    await t.get("v1");
    t.at(1_200);
    const gone = () => Promise.reject(new NoSuchValue());
    await expect(t.cache.get("BTC-USDT", gone)).rejects.toBeInstanceOf(NoSuchValue);
    expect(t.cache.size).toBe(0);
    expect(await t.get("v2")).toBe("v2");
  });

  it("drops expired entries rather than keeping them until replaced", async () => {
    const t = setup();
    await t.get("v1");
    await t.cache.get("ETH-USDT", t.load("e1"));
    t.at(1_500);
    await t.get("v2"); // renewed: now the newest
    t.at(3_000);
    await t.cache.get("SOL-USDT", t.load("s1"));
    // ETH-USDT (read at 0) is gone; BTC-USDT (read at 1.5 s) and SOL-USDT stay.
    expect(t.cache.size).toBe(2);
    t.at(10_000);
    await t.cache.get("SOL-USDT", t.load("s2"));
    expect(t.cache.size).toBe(1);
  });

  it("a renewed entry moves to the end: the least recently cached is evicted first", async () => {
    let now = 0;
    const cache = new RefreshingCache<string>(2_000, 1_000, () => now, 2);
    await cache.get("a", async () => "a");
    await cache.get("b", async () => "b");
    now = 1_000;
    await cache.get("a", async () => "a2"); // renewed
    await cache.get("c", async () => "c"); // evicts b, not a
    expect(await cache.get("a", async () => "a3")).toBe("a2");
    expect(await cache.get("b", async () => "b2")).toBe("b2");
  });
});
