import { parse, v7 } from "uuid";
import { describe, expect, it } from "vitest";
import { newOrderId } from "../../../src/domain/market/order-id";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newOrderId", () => {
  it("gives UUIDv7s that strictly increase, many within one millisecond and across random pools", () => {
    const ids = Array.from({ length: 5_000 }, () => newOrderId());
    for (const [i, id] of ids.entries()) {
      expect(id).toMatch(V7);
      if (i > 0) expect(id > ids[i - 1]!).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("carries the time it was made in its first 48 bits", () => {
    const before = Date.now();
    const id = newOrderId();
    const ms = parseInt(id.replaceAll("-", "").slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });

  it("prints exactly what the uuid package's v7 prints for the same time, counter and random bytes", () => {
    for (let i = 0; i < 2_000; i++) {
      const id = newOrderId();
      const b = parse(id);
      const msecs = parseInt(id.replaceAll("-", "").slice(0, 12), 16);
      const seq =
        ((b[6]! & 0x0f) << 28) | (b[7]! << 20) | ((b[8]! & 0x3f) << 14) | (b[9]! << 6) | (b[10]! >>> 2);
      const random = new Uint8Array(16);
      random.set(b.subarray(10), 10);
      expect(v7({ msecs, seq, random })).toBe(id);
    }
  });
});
