import { normal } from "./prng";

export const BUY = 0;
export const SELL = 1;

/** A limit order's price and side as a market model draws it. */
export interface Quote {
  price: number;
  side: number;
}

/** How one benchmark market moves and where its orders land. */
export interface Market {
  name: string;
  /** Mid price in ticks at the start. */
  mid: number;
  /** The mid after one operation. */
  walk(random: () => number, mid: number): number;
  /** A new limit order around `mid` (it may cross). */
  limit(random: () => number, mid: number, out: Quote): void;
  /** Order `i` of a resting (non-crossing) book around `mid`, for the memory figures. */
  resting(random: () => number, mid: number, i: number, out: Quote): void;
}

/**
 * Issue 4's market: the mid starts at 10,000 ticks and moves ±1 with probability 0.1; prices
 * are normal around it (σ = 100/6) clamped to mid−50..mid+49, on the crossing side with
 * probability `crossProbability`. 0.2 keeps a steady book of ~7-10k orders on ~200 levels;
 * 0.5 a thin one of ~10 levels.
 */
export function issue4(name: string, crossProbability: number): Market {
  return {
    name,
    mid: 10_000,
    walk: (random, mid) => (random() < 0.1 ? mid + (random() < 0.5 ? -1 : 1) : mid),
    limit(random, mid, out) {
      out.price = Math.min(mid + 49, Math.max(mid - 50, Math.round(mid + normal(random) * (100 / 6))));
      const crossingSide = out.price >= mid ? BUY : SELL;
      out.side = random() < crossProbability ? crossingSide : 1 - crossingSide;
    },
    resting(random, mid, i, out) {
      const offset = Math.floor(random() * 50);
      out.side = i & 1;
      out.price = out.side === BUY ? mid - 1 - offset : mid + offset;
    },
  };
}

/** Ticks of the near band: $20 at a tick of $0.01. */
const NEAR = 2_000;
/** Mean distance of the exponentially spread orders: 0.5% of the mid. */
const SPREAD_MEAN = 0.005;

/**
 * A BTC-like market: tick $0.01, mid from $90,000 (9,000,000 ticks) moving by 1..50 ticks with
 * probability 0.1 (a random walk of ~$90 over a million operations). ~70% of limit prices are
 * within $20 of the mid (normal, σ = $6.67, on the crossing side with probability 0.2), ~25% at
 * an exponential distance (mean 0.5% of the mid) on their own side, the rest uniform out to
 * −30% (bids) or +50% (asks). Far orders rarely trade, so the book grows to tens of thousands
 * of orders on as many levels.
 */
export const wide: Market = {
  name: "wide book",
  mid: 9_000_000,
  walk(random, mid) {
    if (random() >= 0.1) return mid;
    const step = 1 + Math.floor(random() * 50);
    return random() < 0.5 ? mid - step : mid + step;
  },
  limit(random, mid, out) {
    const r = random();
    if (r < 0.7) {
      out.price = Math.min(mid + NEAR, Math.max(mid - NEAR, Math.round(mid + normal(random) * (NEAR / 3))));
      const crossingSide = out.price >= mid ? BUY : SELL;
      out.side = random() < 0.2 ? crossingSide : 1 - crossingSide;
    } else {
      wideResting(random, mid, r < 0.95, out);
    }
  },
  resting(random, mid, _i, out) {
    if (random() < 0.7) {
      out.side = random() < 0.5 ? BUY : SELL;
      const distance = 1 + Math.floor(Math.abs(normal(random)) * (NEAR / 3));
      out.price = out.side === BUY ? mid - Math.min(NEAR, distance) : mid + Math.min(NEAR, distance);
    } else {
      wideResting(random, mid, random() < 0.25 / 0.3, out);
    }
  },
};

/** A far order on its own side: exponential distance from the mid, or uniform out to −30%/+50%. */
function wideResting(random: () => number, mid: number, exponential: boolean, out: Quote): void {
  out.side = random() < 0.5 ? BUY : SELL;
  const reach = out.side === BUY ? 0.3 * mid : 0.5 * mid;
  const distance = exponential
    ? Math.min(reach, -Math.log(1 - random()) * SPREAD_MEAN * mid)
    : random() * reach;
  const ticks = 1 + Math.floor(distance);
  out.price = out.side === BUY ? mid - ticks : mid + ticks;
}
