/** JSON text with every bigint (an amount in minor units) as its decimal string, for Postgres to cast back. */
export function bigintJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
