import { DatabaseSync } from "node:sqlite";
import { createSchema } from "../../../durable-objects/market/schema";

/**
 * The market object's SQLite schema in Node's own SQLite (in memory), behind the part of
 * workerd's `SqlStorage` the object's code calls: `exec` with its bindings, read by iterating or
 * `toArray`. Real SQL on a real SQLite, for pure logic tested in the unit project.
 */
export function marketSql(): SqlStorage {
  const db = new DatabaseSync(":memory:");
  const sql = {
    exec(query: string, ...bindings: (string | number | null)[]) {
      const statement = db.prepare(query);
      const rows = statement.all(...bindings);
      return Object.assign(rows[Symbol.iterator](), { toArray: () => rows });
    },
  } as unknown as SqlStorage;
  createSchema(sql);
  return sql;
}
