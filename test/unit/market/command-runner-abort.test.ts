import { describe, expect, it, vi } from "vitest";
import { CommandRunner } from "../../../durable-objects/market/command-runner";
import type { Market } from "../../../durable-objects/market/market";
import type { MarketMetrics } from "../../../durable-objects/market/metrics";

/** A storage whose transactions fail (a full disk, an I/O error) after the writer ran. */
function failingObject() {
  const abort = vi.fn();
  const ctx = {
    abort,
    storage: {
      sql: { exec: () => ({ toArray: () => [] }) },
      transactionSync: (write: () => void) => {
        write();
        throw new Error("SQLITE_IOERR");
      },
    },
  } as unknown as DurableObjectState;
  const market = {
    counters: { lockMark: 5 },
    abandon: vi.fn(),
  } as unknown as Market;
  const committed = vi.fn();
  const runner = new CommandRunner(ctx, {} as Env, () => market, {} as MarketMetrics, { committed });
  return { runner, abort, committed };
}

describe("CommandRunner.abandon when its storage transaction fails", () => {
  it("aborts the object (memory ran ahead of storage) and hands nothing on", () => {
    const { runner, abort, committed } = failingObject();
    expect(() => runner.abandon([{ orderId: "o1", userId: "u1" }], 42)).toThrow("SQLITE_IOERR");
    expect(abort).toHaveBeenCalledWith("order book state diverged from storage");
    expect(committed).not.toHaveBeenCalled();
  });
});
