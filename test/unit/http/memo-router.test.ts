import { describe, expect, it } from "vitest";
import { MemoRouter } from "../../../src/http/memo-router";

function router(): MemoRouter<string> {
  const r = new MemoRouter<string>();
  r.add("GET", "/orders/:id", "order");
  r.add("GET", "/orders", "list");
  return r;
}

/** The first handler's params, resolved as Hono does for either result form. */
function paramsOf(r: MemoRouter<string>, path: string): Record<string, string> {
  const [handlers, stash] = r.match("GET", path);
  const [handler, params] = handlers[0]!;
  expect(handler).toBe("order");
  if (!stash) return params as Record<string, string>;
  return Object.fromEntries(Object.entries(params).map(([k, i]) => [k, stash[i as number]!]));
}

describe("MemoRouter", () => {
  it("answers each path with its own params, kept or not", () => {
    const r = router();
    for (let round = 0; round < 2; round++) {
      expect(paramsOf(r, "/orders/aaa")).toEqual({ id: "aaa" });
      expect(paramsOf(r, "/orders/bbb")).toEqual({ id: "bbb" });
    }
    const long = "x".repeat(5_000);
    expect(paramsOf(r, `/orders/${long}`)).toEqual({ id: long });
  });

  it("never keeps long paths and keeps at most 2,000 answers", () => {
    const r = router();
    for (let i = 0; i < 100; i++) r.match("GET", `/orders/${i}-${"y".repeat(300)}`);
    expect(r["answers"].size).toBe(0);
    for (let i = 0; i < 3_000; i++) r.match("GET", `/orders/${i}`);
    expect(r["answers"].size).toBe(2_000);
  });
});
