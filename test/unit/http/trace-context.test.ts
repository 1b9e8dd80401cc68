import { describe, expect, it } from "vitest";
import { formatTraceparent, traceContextFrom } from "../../../src/lib/trace-context";

describe("traceContextFrom", () => {
  it("continues a valid W3C traceparent", () => {
    const ctx = traceContextFrom("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(ctx.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(ctx.parentSpanId).toBe("00f067aa0ba902b7");
    expect(ctx.sampled).toBe(true);
    expect(formatTraceparent(ctx)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  it.each([
    undefined,
    "garbage",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  ])("starts a new trace for %s", (header) => {
    const ctx = traceContextFrom(header);
    expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ctx.parentSpanId).toBeUndefined();
  });
});
