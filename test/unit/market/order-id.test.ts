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
});
