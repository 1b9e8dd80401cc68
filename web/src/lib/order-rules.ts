import type { components } from "../api/schema";
import { fromUnits, placesOf, toUnits, trimZeros } from "./decimal";

export type Market = components["schemas"]["Market"];

/** What the form shows next to each field; empty when the field is fine. */
export type FieldErrors = Partial<
  Record<"price" | "stopPrice" | "stopLimitPrice" | "quantity" | "total", string>
>;

/** A price checked against the market's tick, exactly as the API will check it. */
export function priceError(m: Market, value: string, label = "Price"): string | undefined {
  if (value.trim() === "") return `${label} is required`;
  const tick = toUnits(m.tick_size, m.price_decimals)!;
  const units = toUnits(value, m.price_decimals);
  if (units === null) return `${label}: a number with at most ${m.price_decimals} decimals`;
  if (units <= 0n) return `${label} must be above 0`;
  if (units % tick !== 0n) return `${label} must be a multiple of the tick ${trimZeros(m.tick_size)}`;
  return undefined;
}

/** A base quantity checked against the lot, the minimum and the maximum. */
export function quantityError(m: Market, value: string): string | undefined {
  if (value.trim() === "") return "Quantity is required";
  const d = m.quantity_decimals;
  const units = toUnits(value, d);
  if (units === null) return `Quantity: a number with at most ${d} decimals`;
  if (units % toUnits(m.lot_size, d)! !== 0n)
    return `Quantity must be a multiple of the lot ${trimZeros(m.lot_size)}`;
  if (units < toUnits(m.min_quantity, d)!) return `Quantity must be at least ${trimZeros(m.min_quantity)}`;
  if (units > toUnits(m.max_quantity, d)!) return `Quantity must be at most ${trimZeros(m.max_quantity)}`;
  return undefined;
}

/** price × quantity against the minimum notional (both already valid). */
export function notionalError(m: Market, price: string, quantity: string): string | undefined {
  const scale = m.price_decimals + m.quantity_decimals;
  const notional = toUnits(price, m.price_decimals)! * toUnits(quantity, m.quantity_decimals)!;
  const min = toUnits(m.min_notional, scale);
  if (min !== null && notional < min) {
    return `Order value ${trimZeros(fromUnits(notional, scale))} ${m.quote_asset} is below the minimum ${trimZeros(m.min_notional)}`;
  }
  return undefined;
}

/** A quote amount (market buy by total) with at most the price's places, at least the minimum notional. */
export function totalError(m: Market, value: string): string | undefined {
  if (value.trim() === "") return "Total is required";
  const d = Math.max(m.price_decimals, placesOf(m.min_notional));
  const units = toUnits(value, d);
  if (units === null) return `Total: a number with at most ${d} decimals`;
  if (units < toUnits(m.min_notional, d)!)
    return `Total must be at least ${trimZeros(m.min_notional)} ${m.quote_asset}`;
  return undefined;
}
