import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { createMarket, placeOrder, trader } from "../trading/helpers";

/** Every JSON log line written while a test runs (the Worker's and the objects' share this isolate). */
let logged: MockInstance<typeof console.log>;
let level: string;
beforeEach(() => {
  logged = vi.spyOn(console, "log");
  // Tests run at `warn`; the request log and the object's order-batch line are `info`.
  level = env.LOG_LEVEL;
  (env as { LOG_LEVEL: string }).LOG_LEVEL = "info";
});
afterEach(() => {
  (env as { LOG_LEVEL: string }).LOG_LEVEL = level;
  logged.mockRestore();
});

function linesWith(traceId: string): Record<string, unknown>[] {
  return logged.mock.calls
    .map(([line]) => {
      try {
        return JSON.parse(String(line)) as Record<string, unknown>;
      } catch {
        return null;
      }
    })
    .filter((l): l is Record<string, unknown> => l !== null && l.trace_id === traceId);
}

describe("trace context", () => {
  it("one order's trace id is in the Worker's request log and in its market object's log", async () => {
    const market = await createMarket();
    const alice = await trader({ USDT: "1000" });
    const traceId = crypto.randomUUID().replaceAll("-", "");
    const callerSpan = "00f067aa0ba902b7";
    const res = await placeOrder(
      alice,
      { market, side: "buy", type: "limit", price: "65000", quantity: "0.01" },
      { traceparent: `00-${traceId}-${callerSpan}-01` },
    );
    expect(res.status).toBe(201);

    const lines = linesWith(traceId);
    const request = lines.find((l) => l.msg === "request" && l.path === "/api/v1/orders");
    // (a first call may find the new market's object unconfigured: the Worker configures it and calls again)
    const book = lines.find(
      (l) => l.msg === "order batch" && l.component === "order-book" && l.market === market,
    );
    expect(request, JSON.stringify(lines)).toBeDefined();
    expect(book, JSON.stringify(lines)).toMatchObject({ market, commands: 1, refused: 0 });
    // The object's span is a child of the Worker's, which is a child of the caller's.
    expect(request!.parent_span_id).toBe(callerSpan);
    expect(book!.parent_span_id).toBe(request!.span_id);
  });
});
