import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MatchingEngine,
  type Command,
  type EngineConfig,
  type EngineEvent,
} from "../../../durable-objects/engine";
import { ReferenceEngine } from "../../reference/reference-engine";
import { bookAround, commands, wideCommands } from "./arbitraries";

const RUNS = 4000;
const WIDE_RUNS = 1500;
const DEEP_RUNS = 10;

/** Sometimes a price band and a tiny order limit, so those rejections get exercised too; sometimes a one-slot pool that must grow. */
const config = fc.record({
  priceBandTicks: fc.constantFrom(0, 0, 3),
  maxOrders: fc.constantFrom(1 << 20, 1 << 20, 6),
  initialOrders: fc.constantFrom(1024, 1024, 1),
});

/** What the test remembers about each accepted order to check the invariants. */
interface Known {
  quantity: number;
  price: number;
  byQuote: boolean;
  fok: boolean;
  postOnly: boolean;
  traded: number;
}

/** Engine events minus `seq` and level events, for comparison with the reference. */
function comparable(events: EngineEvent[]): unknown[] {
  return events.filter((e) => e.type !== "level").map(({ seq: _seq, ...rest }) => rest);
}

function allDepth(engine: MatchingEngine): { bids: [number, number][]; asks: [number, number][] } {
  return engine.depth(Number.MAX_SAFE_INTEGER);
}

/** The order each command describes, to learn its time in force / post-only flag on acceptance. */
function describes(command: Command, orderId: number): { fok: boolean; postOnly: boolean } {
  if (command.kind === "place" && command.orderId === orderId) {
    return { fok: command.timeInForce === "FOK", postOnly: command.postOnly === true };
  }
  return { fok: false, postOnly: false };
}

class Checker {
  readonly known = new Map<number, Known>();
  /** Depth rebuilt only from level events, as a feed client would. */
  readonly mirror = { bids: new Map<number, number>(), asks: new Map<number, number>() };
  readonly users = new Set<number>();

  constructor(private readonly engine: MatchingEngine) {}

  /** An order placed before the checked commands (a prefilled book). */
  remember(orderId: number, userId: number, quantity: number, price: number): void {
    this.users.add(userId);
    this.known.set(orderId, { quantity, price, byQuote: false, fok: false, postOnly: false, traded: 0 });
  }

  check(command: Command, events: EngineEvent[], queuesBefore: Map<string, number[]>): void {
    const engine = this.engine;
    const firstTrade = new Map<number, number[]>();
    const removed = new Set<number>();
    let seq = 0;
    for (const e of events) {
      expect(e.seq).toBeGreaterThan(seq);
      seq = e.seq;
      switch (e.type) {
        case "accepted": {
          this.users.add(e.userId);
          const flags = describes(command, e.orderId);
          this.known.set(e.orderId, {
            quantity: e.quantity,
            price: e.price,
            byQuote: e.quoteQuantity > 0,
            traded: 0,
            ...flags,
          });
          break;
        }
        case "amended": {
          const k = this.known.get(e.orderId)!;
          k.quantity = e.quantity;
          k.price = e.price;
          break;
        }
        case "trade": {
          const maker = this.known.get(e.makerOrderId)!;
          const taker = this.known.get(e.takerOrderId)!;
          expect(e.price, "trades execute at the maker's price").toBe(maker.price);
          expect(e.makerUserId, "no trade between orders of one user").not.toBe(e.takerUserId);
          expect(taker.postOnly, "post-only orders never take").toBe(false);
          maker.traded += e.quantity;
          taker.traded += e.quantity;
          const makers = firstTrade.get(e.price) ?? [];
          if (!makers.includes(e.makerOrderId)) makers.push(e.makerOrderId);
          firstTrade.set(e.price, makers);
          break;
        }
        case "done": {
          const k = this.known.get(e.orderId)!;
          expect(e.filled, "filled equals the sum of the order's trades").toBe(k.traded);
          if (!k.byQuote)
            expect(e.filled + e.remaining, "filled + remaining + cancelled = quantity").toBe(k.quantity);
          if (k.fok) expect(e.filled === 0 || e.remaining === 0, "FOK fills fully or not at all").toBe(true);
          if (e.reason !== "filled") removed.add(e.orderId);
          this.known.delete(e.orderId);
          break;
        }
        case "level": {
          const side = e.side === "buy" ? this.mirror.bids : this.mirror.asks;
          if (e.quantity === 0) side.delete(e.price);
          else side.set(e.price, e.quantity);
          break;
        }
      }
    }

    const bid = engine.bestBid();
    const ask = engine.bestAsk();
    if (bid !== null && ask !== null) expect(bid, "the book is never crossed").toBeLessThan(ask);
    const depth = allDepth(engine);
    expect(
      [...this.mirror.bids].sort((a, b) => b[0] - a[0]),
      "level events rebuild the bids",
    ).toEqual(depth.bids);
    expect(
      [...this.mirror.asks].sort((a, b) => a[0] - b[0]),
      "level events rebuild the asks",
    ).toEqual(depth.asks);

    for (const user of this.users) {
      for (const o of engine.openOrders(user)) {
        const k = this.known.get(o.orderId)!;
        expect(o.filled, "live order's filled equals its trades").toBe(k.traded);
        expect(o.filled + o.remaining).toBe(k.quantity);
        if (o.status === "open") expect(o.timeInForce, "only GTC orders rest").toBe("GTC");
      }
    }

    // FIFO: within a level, makers first trade in the queue order they had before the command.
    for (const [price, makers] of firstTrade) {
      // Orders that left the queue without trading here (cancelled by an OCO trigger, expired by
      // self-trade prevention, moved by an amend) drop out of the expected order.
      const moved = command.kind === "amend" ? command.orderId : 0;
      const queue = (queuesBefore.get(`buy:${price}`) ?? queuesBefore.get(`sell:${price}`) ?? []).filter(
        (id) => id !== moved && (!removed.has(id) || makers.includes(id)),
      );
      const preexisting = makers.filter((id) => queue.includes(id));
      expect(preexisting, `FIFO at ${price}`).toEqual(queue.slice(0, preexisting.length));
    }
  }
}

function queues(engine: MatchingEngine): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const depth = allDepth(engine);
  for (const [price] of depth.bids) out.set(`buy:${price}`, engine.levelOrders("buy", price));
  for (const [price] of depth.asks) out.set(`sell:${price}`, engine.levelOrders("sell", price));
  return out;
}

/**
 * Applies `log` (after `prefill`, which builds a book) to the engine and the reference and
 * checks, after every command: the same result, events, depth and orders, the invariants the
 * test can see from outside, and `validateInternalState()`.
 */
function againstReference(settings: EngineConfig, log: Command[], prefill: Command[] = []): void {
  const engine = new MatchingEngine(settings);
  const reference = new ReferenceEngine(settings);
  for (const command of prefill) {
    expect(engine.apply(command)).toBe(reference.apply(command));
    reference.events.length = 0;
  }
  engine.events.clear();
  engine.validateInternalState();
  const checker = new Checker(engine);
  for (const o of reference.orders) checker.remember(o.id, o.user, o.quantity, o.price);
  const depth = allDepth(engine);
  for (const [price, quantity] of depth.bids) checker.mirror.bids.set(price, quantity);
  for (const [price, quantity] of depth.asks) checker.mirror.asks.set(price, quantity);
  for (const command of log) {
    const before = queues(engine);
    const code = engine.apply(command);
    expect(reference.apply(command)).toBe(code);
    const events = engine.events.toArray();
    engine.events.clear();
    expect(comparable(events)).toEqual(reference.events.splice(0));
    engine.validateInternalState();
    expect(allDepth(engine)).toEqual(reference.depth());
    expect(engine.lastTradePrice() ?? 0).toBe(reference.lastPrice);
    for (const o of reference.orders) {
      const view = engine.getOrder(o.id)!;
      expect([view.filled, view.price, view.visible, view.status]).toEqual([
        o.filled,
        o.price,
        o.shown,
        o.state === "stop" ? "pending_stop" : "open",
      ]);
    }
    checker.check(command, events, before);
  }
  expect(engine.orderCount).toBe(reference.orders.length);
}

/** Restores a snapshot taken after `split` commands, replays the rest on both, and compares. */
function snapshotMidway(
  settings: EngineConfig,
  log: Command[],
  split: number,
  prefill: Command[] = [],
): void {
  const whole = new MatchingEngine(settings);
  for (const command of [...prefill, ...log]) whole.apply(command);
  const first = new MatchingEngine(settings);
  for (const command of [...prefill, ...log.slice(0, split)]) first.apply(command);
  first.events.clear();
  const restored = MatchingEngine.restore(first.snapshot());
  restored.validateInternalState();
  expect(restored.stateHash()).toBe(first.stateHash());
  for (const command of log.slice(split)) {
    first.apply(command);
    restored.apply(command);
    expect(restored.events.toArray()).toEqual(first.events.toArray());
    restored.validateInternalState();
    first.events.clear();
    restored.events.clear();
  }
  expect(restored.stateHash()).toBe(whole.stateHash());
}

/**
 * Begins a snapshot after `split` commands and applies the rest while stepping it (`slice`
 * orders a step, one step per command): its bytes are those `snapshot()` gave at the begin, and
 * restore to the state of then.
 */
function snapshotWhileTrading(
  settings: EngineConfig,
  log: Command[],
  split: number,
  slice: number,
  prefill: Command[] = [],
): void {
  const engine = new MatchingEngine(settings);
  for (const command of [...prefill, ...log.slice(0, split)]) engine.apply(command);
  engine.events.clear();
  const expected = engine.snapshot();
  const hash = engine.stateHash();
  const encoder = engine.beginSnapshot(slice);
  let done = false;
  for (const command of log.slice(split)) {
    engine.apply(command);
    engine.events.clear();
    done = encoder.step();
  }
  while (!done) done = encoder.step();
  expect(encoder.bytes).toEqual(expected);
  const restored = MatchingEngine.restore(encoder.bytes);
  restored.validateInternalState();
  expect(restored.stateHash()).toBe(hash);
}

describe("matching engine against the reference implementation", () => {
  it("produces the same events and book after every command, and keeps every invariant", () => {
    fc.assert(
      fc.property(config, commands, (settings, log) => againstReference(settings, log)),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("does the same with prices over the whole range: far levels, jumps of 10-50% and the window's edges", () => {
    fc.assert(
      fc.property(config, wideCommands, (settings, log) => againstReference(settings, log)),
      { numRuns: WIDE_RUNS },
    );
  }, 120_000);

  it("does the same on books of thousands of levels, dense and far", () => {
    fc.assert(
      fc.property(
        wideCommands,
        fc.constantFrom(9_000_000, 1_000, 5_000),
        fc.integer({ min: 1_000, max: 2_000 }),
        fc.nat(),
        (log, mid, orders, seed) => againstReference({}, log, bookAround(mid, orders, seed)),
      ),
      { numRuns: DEEP_RUNS },
    );
  }, 120_000);

  it("restoring a snapshot taken at any point and replaying the rest gives the same state hash", () => {
    fc.assert(
      fc.property(config, commands, fc.nat(), (settings, log, at) =>
        snapshotMidway(settings, log, at % (log.length + 1)),
      ),
      { numRuns: RUNS / 2 },
    );
  }, 120_000);

  it("does the same with prices over the whole range and on a deep book", () => {
    fc.assert(
      fc.property(config, wideCommands, fc.nat(), (settings, log, at) =>
        snapshotMidway(settings, log, at % (log.length + 1)),
      ),
      { numRuns: WIDE_RUNS / 2 },
    );
    fc.assert(
      fc.property(wideCommands, fc.nat(), (log, at) =>
        snapshotMidway({}, log, at % (log.length + 1), bookAround(9_000_000, 2_000, at)),
      ),
      { numRuns: DEEP_RUNS },
    );
  }, 120_000);

  it("a snapshot begun at any point and written a slice at a time while commands go on is the one of its begin", () => {
    const slice = fc.integer({ min: 1, max: 40 });
    fc.assert(
      fc.property(config, commands, fc.nat(), slice, (settings, log, at, n) =>
        snapshotWhileTrading(settings, log, at % (log.length + 1), n),
      ),
      { numRuns: RUNS / 2 },
    );
    fc.assert(
      fc.property(config, wideCommands, fc.nat(), slice, (settings, log, at, n) =>
        snapshotWhileTrading(settings, log, at % (log.length + 1), n),
      ),
      { numRuns: WIDE_RUNS / 2 },
    );
    fc.assert(
      fc.property(wideCommands, fc.nat(), fc.integer({ min: 20, max: 400 }), (log, at, n) =>
        snapshotWhileTrading({}, log, at % (log.length + 1), n, bookAround(9_000_000, 2_000, at)),
      ),
      { numRuns: DEEP_RUNS },
    );
  }, 120_000);
});
