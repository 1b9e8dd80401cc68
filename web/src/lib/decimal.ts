// Exact decimal arithmetic for prices, quantities and balances: the API sends decimal strings
// and the page never turns them into floats. A value is a bigint of minor units plus its scale.

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Places after the point of a decimal string ("0.01" → 2, "5" → 0). */
export function placesOf(s: string): number {
  return DECIMAL.exec(s)?.[2]?.length ?? 0;
}

/**
 * `s` as an integer at `scale` places, or null when it is not a plain decimal or has more
 * significant places (trailing zeros beyond the scale are fine: rules print at the asset's places).
 */
export function toUnits(s: string, scale: number): bigint | null {
  const m = DECIMAL.exec(s.trim());
  if (!m) return null;
  let frac = m[2] ?? "";
  if (frac.length > scale) {
    if (!/^0*$/.test(frac.slice(scale))) return null;
    frac = frac.slice(0, scale);
  }
  return BigInt(m[1]! + frac.padEnd(scale, "0"));
}

/** An integer at `scale` places as a decimal string with exactly `scale` places. */
export function fromUnits(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const int = digits.slice(0, digits.length - scale);
  const frac = scale > 0 ? `.${digits.slice(-scale)}` : "";
  return `${negative ? "-" : ""}${int}${frac}`;
}

/** Compares two decimal strings exactly (for sorting prices). */
export function compareDecimal(a: string, b: string): number {
  const scale = Math.max(placesOf(a), placesOf(b));
  const x = toUnits(a, scale) ?? 0n;
  const y = toUnits(b, scale) ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}

export const isZero = (s: string): boolean => /^0*(\.0*)?$/.test(s);

/** price × quantity exactly, printed with `places` places (rounded down). */
export function multiply(price: string, quantity: string, places: number): string | null {
  const ps = placesOf(price);
  const qs = placesOf(quantity);
  const p = toUnits(price, ps);
  const q = toUnits(quantity, qs);
  if (p === null || q === null) return null;
  const product = p * q; // at ps + qs places
  const shift = ps + qs - places;
  return fromUnits(shift >= 0 ? product / 10n ** BigInt(shift) : product * 10n ** BigInt(-shift), places);
}

/** `value` - `minus`, both decimal strings, printed at `places`. */
export function subtract(value: string, minus: string, places: number): string | null {
  const a = toUnits(value, places);
  const b = toUnits(minus, places);
  return a === null || b === null ? null : fromUnits(a - b, places);
}

/** Drops trailing zeros of the fraction ("0.50000" → "0.5"), for compact display. */
export function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}
