import { describe, expect, it } from "vitest";
import { MatchingEngine } from "../../../durable-objects/engine";

// User records outlive their users' last orders ("idle") until they outnumber the active users
// (user-orders.ts); these tests run enough users through the engine to sweep them several times.
describe("user records", () => {
  it("idle users are swept without losing the active ones", () => {
    const engine = new MatchingEngine();
    // 10 users keep a resting bid each; 5,000 others come, rest an ask and leave.
    for (let u = 1; u <= 10; u++) {
      engine.place({ orderId: u, userId: u, side: "buy", type: "limit", price: 100 + u, quantity: 1 });
    }
    let id = 100;
    for (let u = 11; u <= 5_010; u++) {
      engine.place({ orderId: ++id, userId: u, side: "sell", type: "limit", price: 1_000 + u, quantity: 2 });
      if (u % 3 === 0) engine.cancelAll(u);
      else engine.cancel(id);
      if (u % 997 === 0) engine.validateInternalState();
    }
    engine.events.clear();
    engine.validateInternalState();
    expect(engine.orderCount).toBe(10);
    for (let u = 1; u <= 10; u++) expect(engine.openOrders(u).map((o) => o.orderId)).toEqual([u]);
    expect(engine.openOrders(500)).toEqual([]);
    // A swept user comes back; an active user's cancel-all still finds every order.
    engine.place({ orderId: ++id, userId: 500, side: "sell", type: "limit", price: 5_000, quantity: 1 });
    expect(engine.openOrders(500).map((o) => o.orderId)).toEqual([id]);
    expect(engine.cancelAll(3)).toBe(0);
    expect(engine.openOrders(3)).toEqual([]);
    engine.validateInternalState();
  });

  it("idle records leave no trace in the snapshot", () => {
    const a = new MatchingEngine();
    const b = new MatchingEngine();
    a.place({ orderId: 1, userId: 7, side: "buy", type: "limit", price: 10, quantity: 1 });
    a.cancel(1);
    a.place({ orderId: 2, userId: 8, side: "buy", type: "limit", price: 10, quantity: 1 });
    b.place({ orderId: 1, userId: 9, side: "buy", type: "limit", price: 11, quantity: 1 });
    b.cancel(1);
    b.place({ orderId: 2, userId: 8, side: "buy", type: "limit", price: 10, quantity: 1 });
    expect(a.stateHash()).toBe(b.stateHash());
    const restored = MatchingEngine.restore(a.snapshot());
    restored.validateInternalState();
    expect(restored.stateHash()).toBe(a.stateHash());
  });
});
