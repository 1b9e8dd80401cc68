import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatchingEngine, type EngineEvent } from "../../../durable-objects/engine";
import { AppError } from "../../../src/lib/errors";
import { formatUnits } from "../../../src/lib/money";
import { feeOf } from "../../../src/domain/settlement/fees";
import type { MarketRules } from "../../../src/domain/market/market-rules";
import { prepareOrder, type OrderInput } from "../../../src/domain/market/order-input";
import { consumedBy, settleFill, unusedLock } from "../../../src/domain/settlement/fills";
import { BTC_USDT, ETH_USDT } from "./fixtures";

const FEE_ACCOUNT = 0;
const USERS = [1, 2, 3];

/**
 * The settlement path in miniature: an in-memory ledger (available/locked per account and
 * asset), the real matching engine, and the domain arithmetic between them, exactly as the
 * Worker wires them (lock before the engine sees the order; settle per trade; release the
 * unused lock when the order is done).
 */
class MiniExchange {
  readonly engine = new MatchingEngine();
  readonly available = new Map<string, bigint>();
  readonly locked = new Map<string, bigint>();
  readonly orders = new Map<
    number,
    { side: "buy" | "sell"; asset: string; lock: bigint; consumed: bigint; user: number; done: boolean }
  >();
  private nextId = 1;
  trades = 0;

  constructor(readonly rules: MarketRules) {}

  private key = (account: number, asset: string) => `${account}:${asset}`;
  private add(map: Map<string, bigint>, account: number, asset: string, delta: bigint): void {
    const k = this.key(account, asset);
    const next = (map.get(k) ?? 0n) + delta;
    expect(next).toBeGreaterThanOrEqual(0n);
    map.set(k, next);
  }
  balance = (account: number, asset: string) => this.available.get(this.key(account, asset)) ?? 0n;
  lockedOf = (account: number, asset: string) => this.locked.get(this.key(account, asset)) ?? 0n;

  deposit(account: number, asset: string, amount: bigint): void {
    this.add(this.available, account, asset, amount);
  }

  total(asset: string): bigint {
    let sum = 0n;
    for (const [k, v] of [...this.available, ...this.locked]) if (k.endsWith(`:${asset}`)) sum += v;
    return sum;
  }

  place(user: number, input: OrderInput): void {
    let prepared;
    try {
      prepared = prepareOrder(this.rules, input);
    } catch (err) {
      if (err instanceof AppError) return;
      throw err;
    }
    const { asset, amount } = prepared.lock;
    if (this.balance(user, asset) < amount) return; // INSUFFICIENT_FUNDS: nothing locked
    this.add(this.available, user, asset, -amount);
    this.add(this.locked, user, asset, amount);
    const orderId = this.nextId++;
    this.orders.set(orderId, { side: prepared.side, asset, lock: amount, consumed: 0n, user, done: false });
    this.engine.place({ ...prepared.engine, orderId, userId: user });
    this.drain();
  }

  cancel(orderId: number): void {
    this.engine.cancel(orderId);
    this.drain();
  }

  cancelAll(user: number): void {
    this.engine.cancelAll(user);
    this.drain();
  }

  private drain(): void {
    const events = this.engine.events.toArray();
    this.engine.events.clear();
    for (const e of events) this.apply(e);
  }

  private apply(e: EngineEvent): void {
    const { rules } = this;
    if (e.type === "trade") {
      this.trades++;
      const buyId = e.takerSide === "buy" ? e.takerOrderId : e.makerOrderId;
      const sellId = e.takerSide === "buy" ? e.makerOrderId : e.takerOrderId;
      const buy = this.orders.get(buyId)!;
      const sell = this.orders.get(sellId)!;
      const s = settleFill(rules, { priceTicks: e.price, lots: e.quantity, takerSide: e.takerSide });
      expect(s.buyerFee).toBeGreaterThanOrEqual(0n);
      expect(s.buyerFee).toBeLessThanOrEqual(s.base);
      expect(s.sellerFee).toBeGreaterThanOrEqual(0n);
      expect(s.sellerFee).toBeLessThanOrEqual(s.quote);
      buy.consumed += consumedBy("buy", s);
      sell.consumed += consumedBy("sell", s);
      // A lock always covers what its order's fills consume.
      expect(buy.consumed).toBeLessThanOrEqual(buy.lock);
      expect(sell.consumed).toBeLessThanOrEqual(sell.lock);
      this.add(this.locked, buy.user, rules.quoteAsset, -s.quote);
      this.add(this.available, sell.user, rules.quoteAsset, s.quote - s.sellerFee);
      this.add(this.available, FEE_ACCOUNT, rules.quoteAsset, s.sellerFee);
      this.add(this.locked, sell.user, rules.baseAsset, -s.base);
      this.add(this.available, buy.user, rules.baseAsset, s.base - s.buyerFee);
      this.add(this.available, FEE_ACCOUNT, rules.baseAsset, s.buyerFee);
    } else if (e.type === "done" || e.type === "rejected") {
      const order = this.orders.get(e.orderId);
      // A rejected cancel (unknown or finished order) releases nothing.
      if (e.type === "rejected" && (!order || order.done)) return;
      expect(order!.done).toBe(false);
      const o = order!;
      o.done = true;
      const release = unusedLock(o.lock, o.consumed);
      // locked = consumed + released, exactly
      expect(o.consumed + release).toBe(o.lock);
      this.add(this.locked, o.user, o.asset, -release);
      this.add(this.available, o.user, o.asset, release);
    }
  }

  /** What the engine's open orders still reserve, per account and asset. */
  reservedByOpenOrders(user: number, asset: string): bigint {
    let sum = 0n;
    for (const o of this.orders.values())
      if (!o.done && o.user === user && o.asset === asset) sum += o.lock - o.consumed;
    return sum;
  }
}

type Action =
  | { kind: "place"; user: number; input: OrderInput }
  | { kind: "cancel"; orderId: number }
  | { kind: "cancel_all"; user: number };

/** Orders near one price so they cross often; amounts as the API receives them. */
function actions(rules: MarketRules, midTicks: number): fc.Arbitrary<Action[]> {
  const price = fc
    .integer({ min: midTicks - 8, max: midTicks + 8 })
    .map((t) => formatUnits(BigInt(t) * rules.tickSize, rules.quoteDecimals));
  const quantity = fc
    .integer({ min: 1, max: 400 })
    .map((l) => formatUnits(BigInt(l) * rules.lotSize, rules.baseDecimals));
  const side = fc.constantFrom("buy" as const, "sell" as const);
  const place: fc.Arbitrary<OrderInput> = fc.oneof(
    fc.record({
      side,
      type: fc.constant("limit" as const),
      price,
      quantity,
      time_in_force: fc.constantFrom("GTC" as const, "IOC" as const, "FOK" as const),
    }),
    fc.record({ side, type: fc.constant("limit" as const), price, quantity, post_only: fc.constant(true) }),
    fc.record({
      side,
      type: fc.constant("limit" as const),
      price,
      quantity,
      visible_quantity: fc.constant(formatUnits(rules.lotSize * 3n, rules.baseDecimals)),
    }),
    fc.record({
      side: fc.constant("buy" as const),
      type: fc.constant("market" as const),
      quote_quantity: fc
        .bigInt({ min: 5_000_000n, max: 3_000_000_000n })
        .map((q) => formatUnits(q, rules.quoteDecimals)),
    }),
    fc.record({ side: fc.constant("sell" as const), type: fc.constant("market" as const), quantity }),
    fc.record({
      side: fc.constant("sell" as const),
      type: fc.constant("stop_loss" as const),
      stop_price: price,
      quantity,
    }),
    fc.record({ side, type: fc.constant("stop_limit" as const), stop_price: price, price, quantity }),
  );
  const user = fc.constantFrom(...USERS);
  return fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant("place" as const), user, input: place }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant("cancel" as const),
          orderId: fc.integer({ min: 1, max: 60 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel_all" as const), user }) },
    ),
    { maxLength: 60 },
  );
}

describe("settlement conserves every asset and releases exactly the unused lock", () => {
  // BTC-USDT rounds (a tick × a lot is 0.1 micro-USDT); ETH-USDT is exact; the third market
  // has fees that round on every fill.
  const ODD: MarketRules = {
    ...BTC_USDT,
    symbol: "ODD-USDT",
    lotSize: 7n,
    minQuantity: 7n,
    minNotional: 1n,
    makerFeeBps: 3,
    takerFeeBps: 7,
  };
  it.each([
    { rules: BTC_USDT, mid: 6_400_000 },
    { rules: ETH_USDT, mid: 300_000 },
    { rules: ODD, mid: 6_400_000 },
  ])("$rules.symbol", ({ rules, mid }) => {
    let trades = 0;
    fc.assert(
      fc.property(actions(rules, mid), (script) => {
        const x = new MiniExchange(rules);
        const funds = {
          [rules.baseAsset]: 10n ** BigInt(rules.baseDecimals) * 5n,
          [rules.quoteAsset]: 500_000_000_000n,
        };
        for (const user of USERS)
          for (const [asset, amount] of Object.entries(funds)) x.deposit(user, asset, amount);
        const totals = Object.fromEntries(Object.keys(funds).map((a) => [a, x.total(a)]));

        for (const action of script) {
          if (action.kind === "place") x.place(action.user, action.input);
          else if (action.kind === "cancel") x.cancel(action.orderId);
          else x.cancelAll(action.user);
          for (const asset of Object.keys(funds)) {
            expect(x.total(asset)).toBe(totals[asset]);
            for (const user of USERS)
              expect(x.lockedOf(user, asset)).toBe(x.reservedByOpenOrders(user, asset));
          }
        }
        for (const user of USERS) x.cancelAll(user);
        trades += x.trades;
        for (const asset of Object.keys(funds)) {
          expect(x.total(asset)).toBe(totals[asset]);
          for (const user of USERS) expect(x.lockedOf(user, asset)).toBe(0n);
        }
      }),
      // ETH-USDT's scripts trade least: 150 runs made as few as 87 trades (CI 2026-12-07).
      { numRuns: 300 },
    );
    expect(trades).toBeGreaterThan(100); // the scripts really trade
  });
});

describe("fees", () => {
  it("are rounded up, never negative and never more than the amount", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 10_000 }),
        (amount, bps) => {
          const fee = feeOf(amount, bps);
          expect(fee).toBeGreaterThanOrEqual(0n);
          expect(fee).toBeLessThanOrEqual(amount);
          expect(fee * 10_000n).toBeGreaterThanOrEqual(amount * BigInt(bps));
          expect((fee - 1n) * 10_000n).toBeLessThan(amount * BigInt(bps));
        },
      ),
    );
  });

  it("the maker pays the maker rate and the taker the taker rate, each in what it receives", () => {
    // 64000.00 × 0.01 BTC: 640 USDT; the buyer takes.
    const s = settleFill(BTC_USDT, { priceTicks: 6_400_000, lots: 1_000, takerSide: "buy" });
    expect(s).toEqual({
      base: 1_000_000n,
      quote: 640_000_000n,
      buyerFee: 2_000n, // 0.2 % of 0.01 BTC
      sellerFee: 640_000n, // 0.1 % of 640 USDT
      buyerLiquidity: "taker",
      sellerLiquidity: "maker",
    });
  });
});
