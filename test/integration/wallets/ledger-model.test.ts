import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withDatabase, type Database } from "../../../src/db/client";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { AppError } from "../../../src/lib/errors";
import { formatUnits } from "../../../src/lib/money";
import { adjustBalance } from "../../../src/services/adjustments";
import { getDepositAddress } from "../../../src/services/deposit-addresses";
import { recordDepositNotice, type DepositNotice } from "../../../src/services/deposits";
import { getBalance } from "../../../src/domain/ledger/ledger";
import { reconcileLedger } from "../../../src/services/reconciliation";
import { configuredUnits, walletConfig } from "../../../src/services/wallet-config";
import { requestWithdrawal, transitionWithdrawal, type Actor } from "../../../src/services/withdrawals";
import { createTestUser } from "./fixtures";
import { ASSETS, actionArb, type Action, type AssetCode } from "./ledger-model-actions";

/**
 * Model-based test against the real Postgres: random sequences of deposits (some pending,
 * some repeated), withdrawals, approvals, rejections, cancels, sends, completions and
 * adjustments. After every sequence each balance equals the model's, every asset sums to
 * zero, no balance is negative and every balance equals its postings (reconciliation).
 */

const config = walletConfig(env);

interface ModelWithdrawal {
  id: string;
  user: number;
  asset: AssetCode;
  amount: bigint;
  status: string;
}

const NEXT: Record<string, Record<string, string>> = {
  approve: { pending_approval: "approved" },
  reject: { pending_approval: "rejected", approved: "rejected" },
  cancel: { pending_approval: "cancelled", approved: "cancelled" },
  sent: { approved: "sent" },
  complete: { sent: "completed" },
};
const TARGET: Record<string, string> = {
  approve: "approved",
  reject: "rejected",
  cancel: "cancelled",
  sent: "sent",
  complete: "completed",
};

async function expectOutcome<T>(
  promise: Promise<T>,
  shouldSucceed: boolean,
  why: string,
): Promise<T | undefined> {
  try {
    const value = await promise;
    expect(shouldSucceed, `unexpected success: ${why}`).toBe(true);
    return value;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(shouldSucceed, `unexpected ${err.code}: ${why}`).toBe(false);
    return undefined;
  }
}

async function runScenario(db: Database, actions: Action[], adminId: string): Promise<void> {
  const users = [await createTestUser(), await createTestUser()];
  const admin: Actor = { id: adminId, type: "admin" };
  const model = new Map<string, { available: bigint; locked: bigint }>();
  const bal = (user: number, asset: AssetCode) => {
    const key = `${user}:${asset}`;
    if (!model.has(key)) model.set(key, { available: 0n, locked: 0n });
    return model.get(key)!;
  };
  const dailyUsed = new Map<string, bigint>();
  /** user:asset pairs an admin adjustment credited (their withdrawals wait for another admin). */
  const creditedByAdmin = new Set<string>();
  const notices: {
    notice: DepositNotice;
    user: number;
    asset: AssetCode;
    amount: bigint;
    credited: boolean;
  }[] = [];
  const withdrawals: ModelWithdrawal[] = [];

  for (const a of actions) {
    switch (a.op) {
      case "deposit": {
        const spec = ASSETS[a.asset];
        const { address } = await getDepositAddress(db, env, "mainnet", users[a.user]!, a.asset);
        const notice: DepositNotice = {
          asset: a.asset,
          txHash: crypto.randomUUID().replaceAll("-", "").padEnd(64, "0"),
          vout: 0,
          address,
          amount: formatUnits(a.amount, spec.decimals),
          confirmations: a.confirmed ? spec.confirmations : spec.confirmations - 1,
        };
        await recordDepositNotice(db, notice, SYSTEM_METADATA);
        notices.push({ notice, user: a.user, asset: a.asset, amount: a.amount, credited: a.confirmed });
        if (a.confirmed) bal(a.user, a.asset).available += a.amount;
        break;
      }
      case "confirm":
      case "replay": {
        if (notices.length === 0) break;
        const n = notices[a.pick % notices.length]!;
        const confirmations = a.op === "confirm" ? n.notice.confirmations + 5 : n.notice.confirmations;
        const outcome = await recordDepositNotice(db, { ...n.notice, confirmations }, SYSTEM_METADATA);
        const creditsNow = !n.credited && confirmations >= ASSETS[n.asset].confirmations;
        expect(outcome.creditedNow).toBe(creditsNow);
        if (creditsNow) {
          n.credited = true;
          bal(n.user, n.asset).available += n.amount;
        }
        break;
      }
      case "withdraw": {
        const spec = ASSETS[a.asset];
        const b = bal(a.user, a.asset);
        const amount = a.share > 0 ? (b.available * BigInt(a.share)) / 1000n : a.amount;
        if (amount === 0n) break;
        const limit = configuredUnits(config.dailyLimits.verified?.[a.asset], spec.decimals)!;
        const usedKey = `${a.user}:${a.asset}`;
        const used = dailyUsed.get(usedKey) ?? 0n;
        const ok = amount >= spec.min && used + amount <= limit && amount <= b.available;
        const result = await expectOutcome(
          requestWithdrawal(
            db,
            config,
            {
              userId: users[a.user]!,
              asset: a.asset,
              address: spec.address,
              amount: formatUnits(amount, spec.decimals),
              idempotencyKey: crypto.randomUUID(),
            },
            { id: users[a.user]!, type: "user" },
            SYSTEM_METADATA,
          ),
          ok,
          `withdraw ${amount} of ${a.asset} with ${b.available} available, ${used} used today`,
        );
        if (result) {
          b.available -= amount;
          b.locked += amount;
          dailyUsed.set(usedKey, used + amount);
          // Review once the rolling day's total passes the threshold, and always for funds an
          // admin credited (four eyes).
          const threshold = configuredUnits(config.approvalThresholds[a.asset], spec.decimals)!;
          const review = used + amount > threshold || creditedByAdmin.has(usedKey);
          expect(result.withdrawal.status).toBe(review ? "pending_approval" : "approved");
          withdrawals.push({
            id: result.withdrawal.id,
            user: a.user,
            asset: a.asset,
            amount: amount,
            status: result.withdrawal.status,
          });
        }
        break;
      }
      case "transition": {
        if (withdrawals.length === 0) break;
        const w = withdrawals[a.pick % withdrawals.length]!;
        const next = NEXT[a.kind]![w.status];
        const same = w.status === TARGET[a.kind];
        const actor: Actor = a.kind === "cancel" ? { id: users[w.user]!, type: "user" } : admin;
        // The admin who credited the user's funds may not approve their withdrawal.
        const fourEyes = a.kind === "approve" && Boolean(next) && creditedByAdmin.has(`${w.user}:${w.asset}`);
        const result = await expectOutcome(
          transitionWithdrawal(
            db,
            a.kind,
            {
              withdrawalId: w.id,
              ownerId: a.kind === "cancel" ? users[w.user] : undefined,
              txHash: "0xfeed",
            },
            actor,
            SYSTEM_METADATA,
          ),
          (Boolean(next) || same) && !fourEyes,
          `${a.kind} a ${w.status} withdrawal`,
        );
        if (result && next) {
          const b = bal(w.user, w.asset);
          if (next === "rejected" || next === "cancelled") {
            b.locked -= w.amount;
            b.available += w.amount;
            dailyUsed.set(`${w.user}:${w.asset}`, dailyUsed.get(`${w.user}:${w.asset}`)! - w.amount);
          } else if (next === "sent") {
            b.locked -= w.amount;
          }
          w.status = next;
        }
        expect(result?.status ?? w.status).toBe(w.status);
        break;
      }
      case "adjust": {
        const spec = ASSETS[a.asset];
        const b = bal(a.user, a.asset);
        const ok = a.amount !== 0n && b.available + a.amount >= 0n;
        const result = await expectOutcome(
          adjustBalance(
            db,
            {
              userId: users[a.user]!,
              asset: a.asset,
              amount: formatUnits(a.amount, spec.decimals),
              reason: "model test",
            },
            adminId,
            SYSTEM_METADATA,
          ),
          ok,
          `adjust ${a.amount} with ${b.available} available`,
        );
        if (result) b.available += a.amount;
        if (result && a.amount > 0n) creditedByAdmin.add(`${a.user}:${a.asset}`);
        break;
      }
    }
  }

  for (const [key, expected] of model) {
    const [user, asset] = key.split(":") as [string, AssetCode];
    expect(await getBalance(db, users[Number(user)]!, asset), key).toEqual(expected);
  }
  const report = await reconcileLedger(db);
  expect(report.mismatches).toEqual([]);
  for (const asset of report.assets) expect(asset.sum).toBe(0n);
}

describe("ledger model", () => {
  it("keeps every balance exactly right after any sequence of operations", async () => {
    const adminId = await createTestUser({ role: "admin" });
    await withDatabase(env, async (db) => {
      await fc.assert(
        fc.asyncProperty(fc.array(actionArb, { minLength: 5, maxLength: 40, size: "max" }), (actions) =>
          runScenario(db, actions, adminId),
        ),
        { numRuns: 50, endOnFailure: true },
      );
    });
  }, 120_000);
});
