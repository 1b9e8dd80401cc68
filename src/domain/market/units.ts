// Decimal strings at the edge, integers inside. A market's grid: prices are whole ticks and
// quantities whole lots, both given in the quote's and the base's minor units. This is the
// minimal exact converter the order book needs; src/lib/money.ts (wallets) is the general one.

import { Memo } from "./amount-format";

const DECIMAL = /^(\d{1,40})(?:\.(\d{1,36}))?$/;

/** `"0.0012"` with 8 decimals → `120000n`; null for anything that is not an exact amount. */
export function decimalToMinor(input: unknown, decimals: number): bigint | null {
  if (typeof input !== "string") return null;
  const match = DECIMAL.exec(input);
  if (!match) return null;
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > decimals) return null;
  return BigInt(match[1]! + fraction.padEnd(decimals, "0"));
}

/**
 * `120000n` with 8 decimals and 5 places → `"0.00120"`: a market prints prices and quantities
 * with the fixed number of places its tick and lot imply. Digits beyond `places` are dropped
 * only when they are zeros (they always are for values on the market's grid).
 */
export function minorToDecimal(value: bigint, decimals: number, places = decimals): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  let fraction = digits.slice(digits.length - decimals);
  while (fraction.length > places && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** A non-negative safe integer of `places`-th units as a decimal string: (12345, 2) → "123.45". */
function placed(units: number, places: number): string {
  if (places === 0) return String(units);
  const digits = String(units).padStart(places + 1, "0");
  return `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/** Fraction digits a step needs: a tick of 10_000 with 6 decimals (0.01) → 2. */
export function placesOf(step: bigint, decimals: number): number {
  let places = decimals;
  for (let s = step; places > 0 && s % 10n === 0n; s /= 10n) places--;
  return places;
}

/** Converts between decimal strings and a market's integer ticks (price) and lots (quantity). */
export class MarketGrid {
  readonly priceDecimals: number;
  readonly quantityDecimals: number;
  private readonly tick: bigint;
  private readonly lot: bigint;
  /** 10^baseDecimals: price (quote per whole base) × quantity (base minor) / this = quote minor. */
  private readonly baseScale: bigint;
  private readonly tickStep: number;
  private readonly lotStep: number;
  /** The tick and lot as numbers (exact while safe integers; otherwise NaN, and BigInt is used). */
  private readonly tickNumber: number;
  private readonly lotNumber: number;

  constructor(
    readonly baseDecimals: number,
    readonly quoteDecimals: number,
    tickSize: bigint,
    lotSize: bigint,
  ) {
    this.tick = tickSize;
    this.lot = lotSize;
    this.baseScale = 10n ** BigInt(baseDecimals);
    this.priceDecimals = placesOf(tickSize, quoteDecimals);
    this.quantityDecimals = placesOf(lotSize, baseDecimals);
    // One tick (lot) in units of the last printed place: exact small integers for every
    // realistic market, so formatting is integer arithmetic (no BigInt) on the hot path.
    this.tickStep = Number(tickSize / 10n ** BigInt(quoteDecimals - this.priceDecimals));
    this.lotStep = Number(lotSize / 10n ** BigInt(baseDecimals - this.quantityDecimals));
    this.tickNumber = tickSize <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(tickSize) : NaN;
    this.lotNumber = lotSize <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(lotSize) : NaN;
  }

  /**
   * Price string → ticks; null when malformed or off the tick grid; 0 is returned as 0.
   * Memoised like the printing below (a regex, a BigInt parse and divisions per call).
   */
  ticks(price: unknown): number | null {
    return typeof price === "string" ? this.parsedTicks.get(price, this.parseTicks) : null;
  }

  /** Quantity string → lots; null when malformed or not a whole number of lots. */
  lots(quantity: unknown): number | null {
    return typeof quantity === "string" ? this.parsedLots.get(quantity, this.parseLots) : null;
  }

  private readonly parsedTicks = new Memo<string, number | null>();
  private readonly parsedLots = new Memo<string, number | null>();

  private readonly parseTicks = (price: string): number | null => {
    const minor = decimalToMinor(price, this.quoteDecimals);
    if (minor === null || minor % this.tick !== 0n) return null;
    const ticks = minor / this.tick;
    return ticks > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(ticks);
  };

  private readonly parseLots = (quantity: string): number | null => {
    const minor = decimalToMinor(quantity, this.baseDecimals);
    if (minor === null || minor % this.lot !== 0n) return null;
    const lots = minor / this.lot;
    return lots > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(lots);
  };

  /** Quote amount string → the engine's quote units (ticks × lots), rounded down; null when malformed. */
  quoteUnits(amount: unknown): number | null {
    const minor = decimalToMinor(amount, this.quoteDecimals);
    if (minor === null) return null;
    const units = (minor * this.baseScale) / (this.tick * this.lot);
    return units > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(units);
  }

  /**
   * Ticks → price string, memoised: every fill, order event and reply prints a few prices near
   * the mid and a few quantities, many times a flush (the functions are made once, not per call).
   */
  price(ticks: number): string {
    return this.prices.get(ticks, this.printPrice);
  }

  quantity(lots: number): string {
    return this.quantities.get(lots, this.printQuantity);
  }

  private readonly prices = new Memo<number, string>();
  private readonly quantities = new Memo<number, string>();

  private readonly printPrice = (ticks: number): string =>
    this.tickStep * ticks <= Number.MAX_SAFE_INTEGER
      ? placed(this.tickStep * ticks, this.priceDecimals)
      : minorToDecimal(BigInt(ticks) * this.tick, this.quoteDecimals, this.priceDecimals);

  private readonly printQuantity = (lots: number): string =>
    this.lotStep * lots <= Number.MAX_SAFE_INTEGER
      ? placed(this.lotStep * lots, this.quantityDecimals)
      : minorToDecimal(BigInt(lots) * this.lot, this.baseDecimals, this.quantityDecimals);

  /** Engine quote units → quote decimal string. */
  quote(units: number): string {
    return minorToDecimal((BigInt(units) * this.tick * this.lot) / this.baseScale, this.quoteDecimals);
  }

  priceMinor(ticks: number): bigint {
    return BigInt(ticks) * this.tick;
  }

  quantityMinor(lots: number): bigint {
    return BigInt(lots) * this.lot;
  }

  /**
   * `priceMinor(ticks).toString()`, in integer arithmetic when the product is a safe integer (a
   * product of integers below 2^53 is exact in a double), as the outbox records every fill.
   */
  priceMinorText(ticks: number): string {
    const minor = ticks * this.tickNumber;
    return Number.isSafeInteger(minor) ? String(minor) : this.priceMinor(ticks).toString();
  }

  /** `quantityMinor(lots).toString()`, as `priceMinorText`. */
  quantityMinorText(lots: number): string {
    const minor = lots * this.lotNumber;
    return Number.isSafeInteger(minor) ? String(minor) : this.quantityMinor(lots).toString();
  }

  /** Notional of `lots` at `ticks` in quote minor units (rounded down). */
  notionalMinor(ticks: number, lots: number): bigint {
    return (BigInt(ticks) * this.tick * BigInt(lots) * this.lot) / this.baseScale;
  }
}
