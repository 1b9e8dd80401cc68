import { z } from "@hono/zod-openapi";

/**
 * Money crosses the API as decimal strings and lives inside as bigint minor units (an asset's
 * smallest unit: satoshi for BTC, wei for ETH). Never a JavaScript number: `parseUnits` and
 * `formatUnits` are exact inverses for every value an asset can hold.
 */

/** Largest amount any column can hold: numeric(78, 0). */
export const MAX_MINOR_UNITS = 10n ** 78n - 1n;

/** Plain decimal notation: digits, optionally a point and more digits. No sign, exponent or spaces. */
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
/** The same with an optional leading minus (adjustments may debit). */
const SIGNED_DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export type MoneyErrorReason = "format" | "precision" | "range" | "sign";

/** Why a decimal string is not a valid amount; routes turn it into a 422. */
export class MoneyError extends Error {
  constructor(
    readonly reason: MoneyErrorReason,
    message: string,
  ) {
    super(message);
    this.name = "MoneyError";
  }
}

export interface ParseOptions {
  /** Allow a leading "-" (admin adjustments). Default false. */
  signed?: boolean;
  /** Allow zero. Default false: an amount moves something. */
  allowZero?: boolean;
}

/**
 * `"0.0012"` with 8 decimals → `120000n`. Rejects exponents (`1e-8`), signs (unless `signed`),
 * more fractional digits than the asset has, leading/trailing junk, zero (unless `allowZero`)
 * and anything beyond numeric(78, 0).
 */
export function parseUnits(input: string, decimals: number, options: ParseOptions = {}): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 36) {
    throw new RangeError(`decimals must be an integer in 0..36, got ${decimals}`);
  }
  if (typeof input !== "string") throw new MoneyError("format", "An amount must be a decimal string");
  if (input.length > 120) throw new MoneyError("range", "The amount is too long");
  const match = (options.signed ? SIGNED_DECIMAL : DECIMAL).exec(input);
  if (!match) {
    const message = /^-/.test(input)
      ? "The amount must not be negative"
      : 'The amount must be a plain decimal string such as "0.5" (no sign, exponent or spaces)';
    throw new MoneyError(/^-\d/.test(input) ? "sign" : "format", message);
  }
  const [negative, whole, fraction] = options.signed
    ? [match[1] === "-", match[2]!, match[3] ?? ""]
    : [false, match[1]!, match[2] ?? ""];
  if (fraction.length > decimals) {
    // Trailing zeros beyond the precision carry no value, but a client sending them likely
    // assumes another precision: refuse rather than guess.
    throw new MoneyError("precision", `The amount has more than ${decimals} decimal places`);
  }
  const magnitude = BigInt(whole + fraction.padEnd(decimals, "0"));
  if (magnitude > MAX_MINOR_UNITS) throw new MoneyError("range", "The amount is too large");
  if (magnitude === 0n && !options.allowZero)
    throw new MoneyError("range", "The amount must be greater than zero");
  return negative ? -magnitude : magnitude;
}

/** `120000n` with 8 decimals → `"0.00120000"`: always exactly `decimals` places, a leading "-" when negative. */
export function formatUnits(value: bigint, decimals: number): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 36) {
    throw new RangeError(`decimals must be an integer in 0..36, got ${decimals}`);
  }
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return `${negative ? "-" : ""}${whole}${decimals > 0 ? `.${fraction}` : ""}`;
}

/**
 * A decimal-string amount in a request body. A JSON number fails here (422), so no amount is
 * ever rounded by a float on the way in; the asset's precision is checked by the service,
 * which knows the asset.
 */
export function decimalAmount(options: { signed?: boolean; example?: string } = {}) {
  return z
    .string({ error: "An amount must be a decimal string, not a JSON number" })
    .max(100)
    .regex(options.signed ? SIGNED_DECIMAL : DECIMAL, {
      message: options.signed
        ? 'The amount must be a decimal string such as "-0.5" (no exponent or spaces)'
        : 'The amount must be a positive decimal string such as "0.5" (no sign, exponent or spaces)',
    })
    .openapi({
      example: options.example ?? "0.00120000",
      description: "Decimal string; never a JSON number",
    });
}
