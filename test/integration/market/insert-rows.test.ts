import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { insertRows } from "../../../durable-objects/market/schema";
import { configuredBook } from "./helpers";

// The object's batched inserts (schema.ts `insertRows`, through `jsonb_each`) store every cell
// as the earlier `json_each` + `json_extract` statement did: the same SQLite type and value.

const cell = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }).map(Number),
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v === "object" && v !== null),
);

/** The statement `insertRows` used before: one `json_extract` per cell of a `json_each` row. */
function jsonEachInsert(sql: SqlStorage, table: string, columns: readonly string[], rows: unknown[][]) {
  const values = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
  sql.exec(
    `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${values} FROM json_each(?) WHERE true`,
    JSON.stringify(rows),
  );
}

describe("insertRows", () => {
  it("stores each cell as json_each and json_extract stored it", async () => {
    const book = await configuredBook("INS-USDT");
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      const columns = ["n", "a", "b", "c"];
      const read = (table: string) =>
        sql
          .exec(
            `SELECT n, ${["a", "b", "c"].map((c) => `typeof(${c}) AS t${c}, quote(${c}) AS ${c}`).join(", ")} FROM ${table} ORDER BY n`,
          )
          .toArray();
      fc.assert(
        fc.property(fc.array(fc.tuple(cell, cell, cell), { minLength: 1, maxLength: 40 }), (cells) => {
          for (const table of ["rows_now", "rows_before"]) {
            sql.exec(`DROP TABLE IF EXISTS ${table}`);
            sql.exec(`CREATE TABLE ${table} (n INTEGER PRIMARY KEY, a, b TEXT, c INTEGER)`);
          }
          const rows = cells.map((c, n) => [n + 1, ...c] as never[]);
          insertRows(sql, "rows_now", columns, rows);
          jsonEachInsert(sql, "rows_before", columns, rows);
          expect(read("rows_now")).toEqual(read("rows_before"));
        }),
        { numRuns: 300 },
      );
    });
  });
});
