import { describe, expect, it } from "vitest";
import { api } from "../auth/helpers";
import { bid, createMarket, placed, trader, type Trader } from "./helpers";

// GET /orders runs a query built once per shape and isolate (src/db/client.ts `reusedQuery`):
// each request's values must reach it, never the values of the request that built it.

interface Page {
  orders: { id: string; market: string; status: string }[];
  next_cursor: string | null;
}

async function list(t: Trader, query: string): Promise<Page> {
  const res = await api("GET", `/api/v1/orders${query}`, { token: t.token });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe("listing my orders", () => {
  it("each caller, market and cursor gets its own rows from the same query shapes", async () => {
    const [one, two] = [await createMarket(), await createMarket()];
    const ann = await trader({ USDT: "10000" });
    const ben = await trader({ USDT: "10000" });
    const annOrders: string[] = [];
    for (const price of ["60000.00", "60001.00", "60002.00"]) {
      annOrders.unshift((await placed(ann, bid(one, price))).order.id!);
    }
    const benOrder = (await placed(ben, bid(two, "59000.00"))).order.id!;

    // Same shape (no filters), two callers, one after the other.
    expect((await list(ann, "?limit=10")).orders.map((o) => o.id)).toEqual(annOrders);
    expect((await list(ben, "?limit=10")).orders.map((o) => o.id)).toEqual([benOrder]);

    // Pages: the cursor of each page leads to the next, newest first.
    const first = await list(ann, "?limit=2");
    expect(first.orders.map((o) => o.id)).toEqual(annOrders.slice(0, 2));
    const second = await list(ann, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.orders.map((o) => o.id)).toEqual(annOrders.slice(2));
    expect(second.next_cursor).toBeNull();
    // Ben with Ann's cursor still sees only his own orders (none older than hers here).
    expect(
      (await list(ben, `?limit=2&cursor=${first.next_cursor}`)).orders.every((o) => o.id === benOrder),
    ).toBe(true);

    // Market and state filters take each request's values.
    expect((await list(ann, `?market=${two}`)).orders).toEqual([]);
    expect((await list(ben, `?market=${two}&state=open`)).orders.map((o) => o.id)).toEqual([benOrder]);
    expect((await list(ben, `?market=${two}&state=closed`)).orders).toEqual([]);
    expect((await list(ann, `?market=${one}&state=open&limit=1`)).orders.map((o) => o.id)).toEqual([
      annOrders[0],
    ]);
  });
});
