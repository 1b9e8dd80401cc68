import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { MarketRules } from "../../../src/domain/market/market-rules";
import { SettlementEpochError } from "../../../src/domain/settlement/settlement-errors";
import { ObjectSettler } from "../../../durable-objects/market/settler";
import { fakeOutboxSource } from "./fake-outbox-source";

describe("the object settler of a book whose storage was reset", () => {
  it("does not retry the refusal on its own timer; the next kick tries again, and other failures still retry", async () => {
    let reads = 0;
    let failure: Error = new SettlementEpochError("the order book's epoch b is not the cursor's a");
    const source = fakeOutboxSource(async () => {
      reads++;
      throw failure;
    });
    const rules = { symbol: `RESET-${crypto.randomUUID().slice(0, 8)}` } as MarketRules;
    let enabled = true;
    const settler = new ObjectSettler(
      env,
      source,
      () => rules,
      () => enabled,
    );
    const inside = settler as unknown as {
      retry?: unknown;
      running: boolean;
      opened?: { pool: { end(): Promise<void> } };
    };

    settler.kick();
    await vi.waitFor(() => expect(reads).toBe(1), { timeout: 10_000 });
    await vi.waitFor(() => expect(inside.running).toBe(false), { timeout: 10_000 });
    expect(inside.retry).toBeUndefined();
    // Past the first two retry delays (100 ms, 500 ms): nothing ran again.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(reads).toBe(1);

    // A fill's kick tries again; a failure of another kind backs off and retries.
    failure = new Error("Postgres went away");
    settler.kick();
    await vi.waitFor(() => expect(reads).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    enabled = false; // its next retry finds the settler off
    await inside.opened?.pool.end().catch(() => {});
  });
});
