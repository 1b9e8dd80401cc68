import { env } from "cloudflare:workers";
import { sql, type SQL } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { createMarket } from "../trading/helpers";

/**
 * settle_page zips its 17 entry arrays (0031: unnest in the select list, a ProjectSet), which pads
 * a shorter array with NULLs: a page whose arrays differ in length would settle entries without a
 * field (a fee, a taker side), so it must be refused before anything is read or written. Each
 * array in turn one element short, one longer, or NULL; the arrays all NULL are an empty page.
 */

// Every array's element type, in settle_page's argument order (after e_seq).
const TYPES = [
  "text", // kind
  "bigint", // ts
  "text", // event
  "uuid", // order_id
  "text", // status
  "text", // reason
  "text", // trade_id
  "text", // price
  "text", // quantity
  "numeric", // price_minor
  "numeric", // quantity_minor
  "text", // taker_side
  "uuid", // taker_order_id
  "uuid", // maker_order_id
  "integer", // maker_fee_bps
  "integer", // taker_fee_bps
] as const;

/** A one-entry page (an acceptance) as its arrays' literals: e_seq first. */
const ONE = [
  "{5}",
  "{order}",
  "{0}",
  "{accepted}",
  `{${crypto.randomUUID()}}`,
  ...Array<string>(12).fill("{NULL}"),
];

function call(market: string, arrays: (string | null)[]): SQL {
  const args = arrays.map((a, i) => sql`${a}::${sql.raw(i === 0 ? "bigint" : TYPES[i - 1]!)}[]`);
  return sql`select settle_page(${market}, null, 'BTC', 'USDT', 8, true, ${sql.join(args, sql`, `)}) as r`;
}

let market: Promise<string> | undefined;

/** The call's answer, or its error's code and message; rolled back either way (no cursor kept). */
async function attempt(
  arrays: (string | null)[],
): Promise<{ answer?: unknown; code?: string; message?: string }> {
  const symbol = await (market ??= createMarket());
  const rollback = new Error("rollback");
  let answer: unknown;
  try {
    await withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        const { rows } = await tx.execute<{ r: string }>(call(symbol, arrays));
        answer = JSON.parse(rows[0]!.r) as unknown;
        throw rollback;
      }),
    );
  } catch (err) {
    if (err === rollback) return { answer };
    let pg: unknown = err;
    while (pg instanceof Error && !("code" in pg) && pg.cause) pg = pg.cause;
    return pg as { code?: string; message?: string };
  }
  throw new Error("unreachable");
}

describe("settle_page's entry arrays", () => {
  it("must all be as long as e_seq: one short, one longer or one NULL is refused", async () => {
    for (let i = 1; i < ONE.length; i++) {
      const element = ONE[i]!.slice(1, -1);
      for (const changed of ["{}", `{${element},${element}}`, null]) {
        const arrays = ONE.map((a, j) => (j === i ? changed : a));
        const outcome = await attempt(arrays);
        expect(outcome, `array ${i} as ${String(changed)}`).toMatchObject({
          code: "2202E",
          message: expect.stringMatching(/differ in length/) as unknown,
        });
      }
    }
  });

  it("refuses e_seq shorter than the others", async () => {
    expect(await attempt(["{}", ...ONE.slice(1)])).toMatchObject({ code: "2202E" });
    expect(await attempt([null, ...ONE.slice(1)])).toMatchObject({ code: "2202E" });
  });

  it("settles nothing of a page whose arrays are all empty or all NULL", async () => {
    for (const empty of ["{}", null]) {
      expect(await attempt(ONE.map(() => empty))).toEqual({
        answer: { status: "ok", last_seq: 0, entries: 0, trades: 0, balances: [] },
      });
    }
  });
});
