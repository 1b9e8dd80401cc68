import { describe, expect, it } from "vitest";
import { frameRequestId } from "../../../durable-objects/market/ws/frame-request-id";

// The form a client's own X-Request-Id must have (src/middleware/request-context.ts).
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

describe("frameRequestId", () => {
  it("gives each frame a distinct id of the request-id form, one isolate's random UUID and a count", () => {
    const ids = Array.from({ length: 10_000 }, () => frameRequestId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(REQUEST_ID);
    const [prefix] = ids[0]!.split(":");
    expect(prefix).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.every((id) => id.startsWith(`${prefix}:`))).toBe(true);
  });
});
