import { afterEach, describe, expect, it, vi } from "vitest";
import { OrderIntake, type IntakeHost } from "../../../durable-objects/market/order-intake";

afterEach(() => vi.useRealTimers());

describe("OrderIntake: a funds lock unanswered in 10 s", () => {
  it("raises the lock fence before the next lock leaves", async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    let epoch: number | null = null;
    let locks = 0;
    const host = {
      admit: () => null,
      limit: () => null,
      fundsRequired: () => true,
      fence: () => (epoch === null ? null : { market: "BTC-USDT", epoch }),
      raiseFence: async () => {
        calls.push("raise");
        epoch = calls.filter((c) => c === "raise").length;
      },
      lowerFence: () => {
        epoch = null;
      },
      lockFunds: (funding: readonly unknown[], pass: { epoch: number; mark?: number }) => {
        calls.push(`lock@${pass.epoch}`);
        if (++locks === 1) return new Promise(() => {}); // committed in Postgres or not: unknown
        pass.mark = 100 + locks;
        return Promise.resolve(funding.map(() => ({ outcome: "locked" })));
      },
      sent: async () => {},
      run: (steps: readonly unknown[]) => steps.map(() => ({ ok: true })),
      publishLocks: () => {},
      observe: () => {},
      durable: async () => {},
      stage: () => {},
    } as unknown as IntakeHost;
    const place = (orderId: string) => ({
      kind: "place",
      orderId,
      userId: "u",
      funding: { lock: { asset: "USDT" } },
    });
    const intake = new OrderIntake(host);
    const first = intake.submit([place("a")] as never);
    await vi.advanceTimersByTimeAsync(10_001);
    expect((await first)[0]).toMatchObject({ ok: false, code: "FUNDS_UNAVAILABLE" });
    const second = intake.submit([place("b")] as never);
    await vi.advanceTimersByTimeAsync(10);
    await second;
    expect(calls).toEqual(["raise", "lock@1", "raise", "lock@2"]);
  });
});
