import type {
  AmendCommand,
  CommandError,
  PlaceCommand,
  PlaceOcoCommand,
} from "../../src/domain/market/commands";
import type { EngineOrder } from "../../src/domain/market/order-input";
import type { ActiveRules } from "./rules";

// The book's own check of a command's values against the market's grid and limits, converting
// decimal strings into the engine's ticks and lots. The Worker checked the same rules before it
// called; the book checks again because it is the last word on its rules, which may have changed
// since.

export const fail = (code: string, message: string): CommandError => ({ ok: false, code, message });

const notionalTooSmall = () =>
  fail("NOTIONAL_TOO_SMALL", "price × quantity is below the market's minimum notional");

/** Quantity string → lots within the market's limits, or the refusal. */
function checkedLots(rules: ActiveRules, quantity: string, field = "quantity"): number | CommandError {
  const lots = rules.grid.lots(quantity);
  if (!lots) return fail("INVALID_LOT", `${field} must be a positive multiple of the lot size`);
  const minor = rules.grid.quantityMinor(lots);
  if (minor < rules.rules.minQuantity) return fail("QUANTITY_TOO_SMALL", "quantity below the market minimum");
  if (minor > rules.rules.maxQuantity) return fail("QUANTITY_TOO_LARGE", "quantity above the market maximum");
  return lots;
}

/** A place command in engine units, or the first rule it breaks. */
export function toEngineOrder(rules: ActiveRules, c: PlaceCommand): EngineOrder | CommandError {
  const grid = rules.grid;
  const out: EngineOrder = { side: c.side, type: c.type };
  const ticks = (v: string | undefined, field: string): number | CommandError | undefined => {
    if (v === undefined) return undefined;
    const t = grid.ticks(v);
    return t ? t : fail("INVALID_TICK", `${field} must be a positive multiple of the tick size`);
  };
  const price = ticks(c.price, "price");
  if (typeof price === "object") return price;
  const stopPrice = ticks(c.stopPrice, "stop_price");
  if (typeof stopPrice === "object") return stopPrice;
  if (price !== undefined) out.price = price;
  if (stopPrice !== undefined) out.stopPrice = stopPrice;
  if (c.quantity !== undefined) {
    const lots = checkedLots(rules, c.quantity);
    if (typeof lots === "object") return lots;
    if (price !== undefined && grid.notionalMinor(price, lots) < rules.rules.minNotional)
      return notionalTooSmall();
    out.quantity = lots;
  }
  if (c.quoteQuantity !== undefined) {
    const units = grid.quoteUnits(c.quoteQuantity);
    const minor = units === null ? null : grid.notionalMinor(1, units);
    if (!units || minor === null) return fail("INVALID_AMOUNT", "quote_quantity must be a positive amount");
    out.quoteQuantity = units;
  }
  if (c.trailingOffset !== undefined) {
    const unit = c.trailingOffsetUnit ?? "ticks";
    const offset =
      unit === "bps"
        ? /^\d{1,4}$/.test(c.trailingOffset)
          ? Number(c.trailingOffset)
          : 0
        : grid.ticks(c.trailingOffset);
    if (!offset)
      return fail(
        "INVALID_TRAILING_OFFSET",
        "trailing_offset must be a positive price distance or whole bps",
      );
    out.trailingOffset = offset;
    out.trailingUnit = unit;
  } else if (c.trailingOffsetUnit !== undefined) out.trailingUnit = c.trailingOffsetUnit;
  if (c.visibleQuantity !== undefined) {
    const lots = grid.lots(c.visibleQuantity);
    if (!lots) return fail("INVALID_LOT", "visible_quantity must be a positive multiple of the lot size");
    out.visibleQuantity = lots;
  }
  if (c.timeInForce !== undefined) out.timeInForce = c.timeInForce;
  if (c.postOnly !== undefined) out.postOnly = c.postOnly;
  if (c.selfTradePrevention !== undefined) out.stp = c.selfTradePrevention;
  return out;
}

export interface EngineOco {
  price: number;
  stopPrice: number;
  stopLimitPrice?: number;
  lots: number;
}

/** An OCO pair's prices and quantity in engine units, or the first rule it breaks. */
export function toEngineOco(rules: ActiveRules, c: PlaceOcoCommand): EngineOco | CommandError {
  const grid = rules.grid;
  const price = grid.ticks(c.price);
  const stopPrice = grid.ticks(c.stopPrice);
  const stopLimitPrice = c.stopLimitPrice === undefined ? undefined : grid.ticks(c.stopLimitPrice);
  if (!price || !stopPrice || stopLimitPrice === null || stopLimitPrice === 0) {
    return fail("INVALID_TICK", "prices must be positive multiples of the tick size");
  }
  const lots = checkedLots(rules, c.quantity);
  if (typeof lots === "object") return lots;
  for (const p of [price, stopLimitPrice]) {
    if (p !== undefined && grid.notionalMinor(p, lots) < rules.rules.minNotional) return notionalTooSmall();
  }
  return { price, stopPrice, stopLimitPrice, lots };
}

/**
 * An amendment's new price and quantity in engine units, or the first rule it breaks. `live`:
 * the order as the book holds it (the notional is checked with whatever the amendment keeps).
 */
export function toEngineAmend(
  rules: ActiveRules,
  c: AmendCommand,
  live: { price: number; quantity: number } | null,
): { price?: number; quantity?: number } | CommandError {
  const grid = rules.grid;
  const change: { price?: number; quantity?: number } = {};
  if (c.price !== undefined) {
    const ticks = grid.ticks(c.price);
    if (!ticks) return fail("INVALID_TICK", `price must be a positive multiple of the tick size`);
    change.price = ticks;
  }
  if (c.quantity !== undefined) {
    const lots = checkedLots(rules, c.quantity);
    if (typeof lots === "object") return lots;
    change.quantity = lots;
  }
  if (live && live.price > 0) {
    const notional = grid.notionalMinor(change.price ?? live.price, change.quantity ?? live.quantity);
    if (notional < rules.rules.minNotional) return notionalTooSmall();
  }
  return change;
}
