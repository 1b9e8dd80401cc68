import { describe, expect, it, vi } from "vitest";
import type { IntakeHost, IntakeStep } from "../../../durable-objects/market/order-intake";
import { OrderIntake } from "../../../durable-objects/market/order-intake";

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * A market object around the intake: locks answered when the test says, a book that knows which
 * placements ran (a cancel of one it does not know is refused), an epoch that a raise moves.
 */
function market() {
  const log: string[] = [];
  const locks: { ids: string[]; answer: Deferred<{ outcome: string }[] | null>; pass: { mark?: number } }[] =
    [];
  const booked = new Set<string>();
  let epoch: number | null = null;
  let raises = 0;
  let mark = 0;
  const host = {
    admit: () => null,
    limit: () => null,
    fundsRequired: () => true,
    fence: () => (epoch === null ? null : { market: "M", epoch }),
    raiseFence: async () => {
      log.push(`raise after ${mark}`);
      epoch = ++raises;
    },
    lowerFence: () => {
      epoch = null;
    },
    lockFunds: (funding: readonly { id: string }[], pass: { epoch: number; mark?: number }) => {
      const ids = funding.map((f) => f.id);
      log.push(`lock ${ids.join(",")}@${pass.epoch}`);
      const answer = deferred<{ outcome: string }[] | null>();
      locks.push({ ids, answer, pass });
      return answer.promise.then((outcomes) => {
        if (outcomes === null) throw new Error("no answer");
        return outcomes;
      });
    },
    sent: async () => {},
    run: (steps: readonly IntakeStep[], m: number | undefined) => {
      if (m !== undefined) mark = Math.max(mark, m);
      log.push(`run ${steps.map((s) => describe(s)).join(",")} mark ${m ?? "-"}`);
      return steps.map(({ command }) => {
        const c = command as { kind: string; orderId: string };
        if (c.kind === "place") {
          booked.add(c.orderId);
          return { ok: true };
        }
        if (!booked.delete(c.orderId)) return { ok: false, code: "ORDER_NOT_FOUND" };
        return { ok: true };
      });
    },
    publishLocks: () => {},
    observe: () => {},
    durable: async () => {},
    stage: () => {},
  };
  const describe = (s: IntakeStep) => {
    const c = s.command as { kind: string; orderId: string };
    return `${c.kind === "place" ? "" : "x"}${c.orderId}`;
  };
  /** Answers lock `i` (in the order they left): each placement locked, the lock's mark set. */
  const answer = (i: number, lockMark: number) => {
    locks[i]!.pass.mark = lockMark;
    locks[i]!.answer.resolve(locks[i]!.ids.map(() => ({ outcome: "locked" })));
  };
  return {
    host: host as unknown as IntakeHost,
    log,
    locks,
    answer,
    fail: (i: number) => locks[i]!.answer.resolve(null),
  };
}

const place = (id: string) => ({
  kind: "place",
  orderId: id,
  userId: "u",
  funding: { id, lock: { asset: "USDT" } },
});
const cancel = (id: string) => ({ kind: "cancel", orderId: id, userId: "u" });

describe("OrderIntake: several groups taken, their locks out or queued at once", () => {
  it("keeps at most `depth` locks out, and runs the groups in arrival order whatever order their locks answer in", async () => {
    const m = market();
    const intake = new OrderIntake(m.host, 2, 1);
    const a = intake.submit([place("a")] as never);
    await settle(); // the fence is raised, the first lock leaves
    const b = intake.submit([place("b")] as never);
    await settle();
    const c = intake.submit([place("c")] as never);
    const d = intake.submit([place("d")] as never);
    await settle();
    expect(m.log).toEqual(["raise after 0", "lock a@1", "lock b@1"]); // c and d wait: two are out
    m.answer(1, 20); // b's lock answers first: b still waits for a
    await settle();
    expect(m.log.filter((l) => l.startsWith("run"))).toEqual([]);
    m.answer(0, 10);
    await settle();
    // a ran once its lock answered, after the next lock (c and d, one group) left.
    expect(m.log.slice(3)).toEqual(["lock c,d@1", "run a mark 10", "run b mark 20"]);
    m.answer(2, 30);
    await Promise.all([a, b, c, d]);
    expect(m.log.at(-1)).toBe("run c,d mark 30");
  });

  it("a cancel right behind its placement runs after it, while both groups' locks are out", async () => {
    const m = market();
    const intake = new OrderIntake(m.host, 2, 1);
    const placed = intake.submit([place("p")] as never);
    await settle();
    const cancelled = intake.submit([cancel("p")] as never);
    const other = intake.submit([place("q")] as never);
    await settle();
    expect(m.log).toEqual(["raise after 0", "lock p@1", "lock q@1"]);
    m.answer(1, 20);
    await settle();
    m.answer(0, 10);
    expect(await placed).toEqual([{ ok: true }]);
    expect(await cancelled).toEqual([{ ok: true }]); // the book knew p: its placement ran first
    await other;
    expect(m.log.slice(3)).toEqual(["run p mark 10", "run xp,q mark 20"]);
  });

  it("a lock unanswered among several out: its group refused, the groups behind it run without a mark, and the fence is raised from the old mark once none is out", async () => {
    const m = market();
    const intake = new OrderIntake(m.host, 2, 1);
    const a = intake.submit([place("a")] as never);
    await settle();
    m.answer(0, 10);
    await a;
    const b = intake.submit([place("b")] as never);
    await settle();
    const c = intake.submit([place("c")] as never);
    await settle();
    const d = intake.submit([place("d")] as never);
    await settle();
    expect(m.log.slice(-2)).toEqual(["lock b@1", "lock c@1"]);
    m.fail(1); // b: committed in Postgres or not, unknown
    await settle();
    expect((await b)[0]).toMatchObject({ ok: false, code: "FUNDS_UNAVAILABLE" });
    // d waits: the fence must be raised first, and c's lock is still out.
    expect(m.log.filter((l) => l.startsWith("lock") || l.startsWith("raise")).length).toBe(4);
    m.answer(2, 30);
    expect(await c).toEqual([{ ok: true }]);
    await settle();
    // c ran but kept no mark: the raise looks from a's mark, below whatever b's lock left.
    expect(m.log.slice(-3)).toEqual(["run c mark -", "raise after 10", "lock d@2"]);
    m.answer(3, 40);
    expect(await d).toEqual([{ ok: true }]);
    expect(m.log.at(-1)).toBe("run d mark 40"); // after the raise, marks are kept again
  });

  it("behind a lock out, only a group of at least `minPipelined` commands leaves; fewer wait and join the next group", async () => {
    const m = market();
    const intake = new OrderIntake(m.host, 2, 3);
    const a = intake.submit([place("a")] as never);
    await settle();
    const b = intake.submit([place("b")] as never);
    const c = intake.submit([place("c")] as never);
    await settle();
    expect(m.log).toEqual(["raise after 0", "lock a@1"]); // b and c: two, below the three asked
    const d = intake.submit([place("d")] as never);
    await settle();
    expect(m.log.slice(2)).toEqual(["lock b,c,d@1"]); // three queued: their lock leaves beside a's
    const e = intake.submit([place("e")] as never);
    await settle();
    m.answer(0, 10);
    await a;
    // a answered: e alone still waits, behind b,c,d's lock; once that answers, e leaves alone.
    expect(m.log.slice(3)).toEqual(["run a mark 10"]);
    m.answer(1, 20);
    await Promise.all([b, c, d]);
    expect(m.log.slice(4)).toEqual(["lock e@1", "run b,c,d mark 20"]);
    m.answer(2, 30);
    await e;
    expect(m.log.at(-1)).toBe("run e mark 30");
  });

  it("with depth 1 the next lock leaves only when the previous one answered (the old behaviour)", async () => {
    const m = market();
    const intake = new OrderIntake(m.host, 1);
    const a = intake.submit([place("a")] as never);
    await settle();
    const b = intake.submit([place("b")] as never);
    await settle();
    expect(m.log).toEqual(["raise after 0", "lock a@1"]);
    m.answer(0, 10);
    await a;
    expect(m.log.slice(2)).toEqual(["lock b@1", "run a mark 10"]);
    m.answer(1, 20);
    await b;
  });

  it("runs a group only once the next group's lock is sent: its storage writes would otherwise hold that lock", async () => {
    const m = market();
    const sending = deferred<void>();
    (m.host as unknown as { sent: () => Promise<void> }).sent = () => sending.promise;
    const intake = new OrderIntake(m.host, 1);
    const a = intake.submit([place("a")] as never);
    await settle();
    const b = intake.submit([place("b")] as never);
    await settle();
    m.answer(0, 10);
    await settle();
    expect(m.log.slice(2)).toEqual(["lock b@1"]); // a's lock answered, b's not yet sent: a waits
    sending.resolve();
    await a;
    expect(m.log.slice(2)).toEqual(["lock b@1", "run a mark 10"]);
    m.answer(1, 20);
    await b;
  });

  it("a lock queued behind a slow one has its full time from when that one answered", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const m = market();
      const intake = new OrderIntake(m.host, 2, 1);
      const a = intake.submit([place("a")] as never);
      await vi.advanceTimersByTimeAsync(0);
      const b = intake.submit([place("b")] as never);
      await vi.advanceTimersByTimeAsync(0);
      expect(m.log).toEqual(["raise after 0", "lock a@1", "lock b@1"]);
      await vi.advanceTimersByTimeAsync(9_000);
      m.answer(0, 10);
      expect(await a).toEqual([{ ok: true }]);
      // 18 s after b was asked, 9 s after it could be written: still in time.
      await vi.advanceTimersByTimeAsync(9_000);
      m.answer(1, 20);
      expect(await b).toEqual([{ ok: true }]);
    } finally {
      vi.useRealTimers();
    }
  });
});
