import { OrderType, Side } from "./codes";
import type { IdIndex } from "./id-index";
import {
  FILLED,
  LEVEL,
  NEXT,
  type OrderPool,
  PREV,
  PRICE,
  QUANTITY,
  SHOWN,
  sideOf,
  State,
  stateOf,
  typeOf,
  UNLISTED_BIT,
  USER,
} from "./order-pool";
import type { PriceLevels } from "./price-levels";
import { L_HEAD, L_PRICE, L_TAIL } from "./record-layout";
import type { UserOrders } from "./user-orders";

/** The engine's internals that the checks read (MatchingEngine.validateInternalState passes them). */
export interface BookParts {
  pool: OrderPool;
  ids: IdIndex;
  users: UserOrders;
  levels: PriceLevels;
  live: number;
  stopHead: number;
  stopTail: number;
  trailingStops: number;
  minBuyStop: number;
  maxSellStop: number;
  triggerHead: number;
}

/** Like exchange-core's and TigerBeetle's assertions: the first broken invariant throws, naming it. */
function check(ok: boolean, what: () => string): asserts ok {
  if (!ok) throw new Error(`engine invariant broken: ${what()}`);
}

/**
 * Checks every structural invariant of a quiescent engine (between commands), in O(book):
 * levels sorted, non-empty and summed right, every live order reachable by id, by its level or
 * the stop list, and by its user, the counters and bitsets agreeing, the book not crossed.
 * For tests and diagnostics: it allocates.
 */
export function checkInvariants(parts: BookParts): void {
  const { pool, ids, users, levels } = parts;
  levels.validate();
  const seen = new Uint8Array(pool.slotsUsed);
  const [bidOrders, bidLevels] = checkSide(parts, Side.BUY, seen);
  const [askOrders, askLevels] = checkSide(parts, Side.SELL, seen);
  const resting = bidOrders + askOrders;
  check(bidLevels + askLevels === levels.count, () => {
    return `${levels.count} levels, ${bidLevels + askLevels} reachable from the touch`;
  });
  check(levels.bestBid === 0 || levels.bestAsk === 0 || levels.bestBid < levels.bestAsk, () => {
    return `the book is crossed: best bid ${levels.bestBid}, best ask ${levels.bestAsk}`;
  });
  const stops = checkStops(parts, seen);
  check(parts.triggerHead === -1, () => "triggered stops are left over after a command");
  check(
    resting + stops === parts.live,
    () => `${parts.live} live orders, ${resting} resting and ${stops} stops`,
  );
  check(ids.count === parts.live, () => `the id index holds ${ids.count} ids for ${parts.live} live orders`);
  check(users.validate() === parts.live, () => "the per-user lists do not hold every live order once");
  check(pool.countFree() + parts.live === pool.slotsUsed, () => "an order slot is neither live nor free");
  for (let s = 0; s < pool.slotsUsed; s++) {
    const state = stateOf(pool.meta(s));
    if (state === State.FREE) continue;
    const id = pool.id(s);
    check(seen[s] === 1, () => `order ${id} (state ${state}) is in no level and not a pending stop`);
    check(
      (pool.meta(s) & UNLISTED_BIT) === 0,
      () => `order ${id} is still marked unlisted after its command`,
    );
    check(ids.find(id, pool.f64) === s, () => `order ${id} is not found by its id`);
    const filled = pool.num(s, FILLED);
    check(filled >= 0 && filled < pool.num(s, QUANTITY), () => `order ${id} has nothing left`);
    const sibling = pool.ocoOf(s);
    if (sibling !== -1) {
      check(pool.ocoOf(sibling) === s && stateOf(pool.meta(sibling)) !== State.FREE, () => {
        return `order ${id}'s OCO leg does not point back`;
      });
      check(
        pool.int(sibling, USER) === pool.int(s, USER),
        () => `order ${id}'s OCO legs belong to two users`,
      );
    }
  }
}

/** Walks one side best first; returns its resting orders and levels. */
function checkSide(parts: BookParts, side: number, seen: Uint8Array): [orders: number, levels: number] {
  const { pool, levels } = parts;
  const buy = side === Side.BUY;
  const name = buy ? "bid" : "ask";
  let orders = 0;
  let previous = 0;
  let count = 0;
  for (let p = buy ? levels.bestBid : levels.bestAsk; p !== 0; p = levels.behind(side, p)) {
    check(
      previous === 0 || (buy ? p < previous : p > previous),
      () => `${name} level ${p} after ${previous}`,
    );
    check(++count <= levels.count, () => `the ${name} levels loop`);
    previous = p;
    const level = levels.levelAt(p);
    check(
      level !== -1 && levels.field(level, L_PRICE) === p,
      () => `${name} level ${p} is not found by its price`,
    );
    check(levels.field(level, L_HEAD) !== -1, () => `${name} level ${p} is empty`);
    let shown = 0;
    let prev = -1;
    for (let s = levels.field(level, L_HEAD); s !== -1; s = pool.int(s, NEXT)) {
      const id = pool.id(s);
      check(seen[s] === 0, () => `order ${id} is linked twice`);
      seen[s] = 1;
      check(pool.int(s, PREV) === prev, () => `order ${id} at ${name} ${p} has a wrong back link`);
      check(stateOf(pool.meta(s)) === State.RESTING, () => `order ${id} in ${name} ${p} is not resting`);
      check(
        sideOf(pool.meta(s)) === side && pool.int(s, PRICE) === p,
        () => `order ${id} is in ${name} level ${p}`,
      );
      check(pool.int(s, LEVEL) === level, () => `order ${id} at ${name} ${p} names another level`);
      const remaining = pool.num(s, QUANTITY) - pool.num(s, FILLED);
      const peak = pool.peakOf(s);
      const display = pool.num(s, SHOWN);
      check(
        display >= 1 && display <= remaining && (peak === 0 ? display === remaining : display <= peak),
        () => {
          return `order ${id} shows ${display} of ${remaining} (peak ${peak})`;
        },
      );
      shown += display;
      prev = s;
      orders++;
    }
    check(levels.field(level, L_TAIL) === prev, () => `${name} level ${p} has a wrong tail`);
    check(
      levels.visibleOf(level) === shown,
      () => `${name} level ${p} totals ${levels.visibleOf(level)}, its orders ${shown}`,
    );
  }
  return [orders, count];
}

/** Walks the pending stop list; returns its length. */
function checkStops(parts: BookParts, seen: Uint8Array): number {
  const pool = parts.pool;
  let n = 0;
  let trailing = 0;
  let prev = -1;
  for (let s = parts.stopHead; s !== -1; s = pool.int(s, NEXT)) {
    const id = pool.id(s);
    const meta = pool.meta(s);
    check(seen[s] === 0, () => `stop ${id} is also linked elsewhere`);
    seen[s] = 1;
    check(pool.int(s, PREV) === prev, () => `stop ${id} has a wrong back link`);
    check(stateOf(meta) === State.PENDING_STOP, () => `stop ${id} is listed but not pending`);
    const type = typeOf(meta);
    check(type >= OrderType.STOP_LOSS, () => `order ${id} of type ${type} is in the stop list`);
    if (type === OrderType.TRAILING_STOP) trailing++;
    else if (sideOf(meta) === Side.BUY) {
      check(pool.stopPrice[s]! >= parts.minBuyStop, () => `buy stop ${id} is below the scan bound`);
    } else {
      check(pool.stopPrice[s]! <= parts.maxSellStop, () => `sell stop ${id} is above the scan bound`);
    }
    prev = s;
    n++;
  }
  check(parts.stopTail === prev, () => "the stop list has a wrong tail");
  check(
    trailing === parts.trailingStops,
    () => `${parts.trailingStops} trailing stops counted, ${trailing} listed`,
  );
  return n;
}
