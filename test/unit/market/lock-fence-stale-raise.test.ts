import { describe, expect, it, vi } from "vitest";

/** Each raise's answer, released by the test: Postgres answering late or in any order. */
const answers: ((answer: unknown) => void)[] = [];
vi.mock("../../../src/db/client", () => ({
  withDatabase: () => new Promise((resolve) => answers.push(resolve)),
}));
const { LockFence } = await import("../../../durable-objects/market/lock-fence");

const answer = (epoch: number, mark: number, ...ids: string[]) => ({
  epoch: String(epoch),
  mark: String(mark),
  orders: ids.map((id) => ({ order_id: id, user_id: "u" })),
});
const settled = () => {
  const seen: string[][] = [];
  return {
    seen,
    settle: (r: { orphans: { orderId: string }[] }) => seen.push(r.orphans.map((o) => o.orderId)),
  };
};

describe("LockFence: a raise answering after its caller gave up", () => {
  it("does nothing once a later raise was asked for: no stale epoch, no later group's ids abandoned", async () => {
    const fence = new LockFence({} as Env);
    const { seen, settle } = settled();
    const first = fence.raise("BTC-USDT", 10, settle); // slow: its caller times out
    fence.lower(); // the intake's timeout: the raise went unaccounted
    const second = fence.raise("BTC-USDT", 10, settle);
    answers[1]!(answer(2, 50, "a"));
    await second;
    expect(fence.pass("BTC-USDT")).toEqual({ market: "BTC-USDT", epoch: 2 });
    // The first raise's answer: an older epoch, and ids read before the second raise (here "b",
    // an id a later group may since have locked and the book taken).
    answers[0]!(answer(1, 40, "b"));
    await first;
    expect(fence.pass("BTC-USDT")).toEqual({ market: "BTC-USDT", epoch: 2 });
    expect(seen).toEqual([["a"]]);
  });

  it("does nothing once lowered, even with no later raise yet", async () => {
    answers.length = 0;
    const fence = new LockFence({} as Env);
    const { seen, settle } = settled();
    const raise = fence.raise("BTC-USDT", null, settle);
    fence.lower();
    answers[0]!(answer(7, 70));
    await raise;
    expect(fence.pass("BTC-USDT")).toBeNull();
    expect(seen).toEqual([]);
  });

  it("never takes an epoch below one it took", async () => {
    answers.length = 0;
    const fence = new LockFence({} as Env);
    const { seen, settle } = settled();
    const r1 = fence.raise("BTC-USDT", null, settle);
    answers[0]!(answer(5, 50));
    await r1;
    const r2 = fence.raise("BTC-USDT", 50, settle);
    answers[1]!(answer(4, 60, "c"));
    await r2;
    expect(fence.pass("BTC-USDT")).toBeNull();
    expect(seen).toEqual([[]]);
  });
});
