import { sql, type SQL } from "drizzle-orm";
import { arrayLiteral, type Cell } from "../../src/db/array-literal";
import type { LockOutcome, PlacementFunding } from "../../src/domain/market/commands";
import type { FencePass } from "./lock-fence";
import { LockLine } from "./lock-line";

const isTraceId = (id: string) => /^[0-9a-f]{32}$/.test(id);

/** `place_orders`' parameters per placement: name (after `f_`), Postgres type, value. */
const PLACEMENT_PARAMS: readonly [string, string, (f: PlacementFunding) => Cell][] = [
  ["lock_user", "uuid", (f) => f.lock.user_id],
  ["lock_asset", "text", (f) => f.lock.asset],
  ["lock_amount", "numeric", (f) => f.lock.amount],
  ["actor_id", "uuid", (f) => f.audit.actor_id],
  ["actor_type", "text", (f) => f.audit.actor_type],
  ["ip_address", "text", (f) => f.audit.ip_address],
  ["user_agent", "text", (f) => f.audit.user_agent],
  ["request_id", "text", (f) => f.audit.request_id],
  ["details", "jsonb", (f) => JSON.stringify(f.audit.details ?? {})],
];

/** An order row column `place_orders` takes: its parameter (after `f_`) and Postgres type, by column. */
export type RowParams = Readonly<Record<string, readonly [string, string]>>;

/** The order row columns `place_orders` (migrations/0029) takes, with their parameter (after `f_`) and type. */
export const ROW_PARAMS: RowParams = {
  id: ["r_id", "uuid"],
  market: ["market", "text"],
  client_order_id: ["client_order_id", "text"],
  side: ["side", "order_side"],
  type: ["type", "order_type"],
  time_in_force: ["time_in_force", "time_in_force"],
  post_only: ["post_only", "boolean"],
  self_trade_prevention: ["self_trade_prevention", "self_trade_prevention"],
  price: ["price", "numeric"],
  stop_price: ["stop_price", "numeric"],
  quantity: ["quantity", "numeric"],
  quote_quantity: ["quote_quantity", "numeric"],
  visible_quantity: ["visible_quantity", "numeric"],
  trailing_offset: ["trailing_offset", "integer"],
  trailing_offset_unit: ["trailing_offset_unit", "text"],
  oco_group_id: ["oco_group_id", "uuid"],
};

/**
 * The row columns `place_orders` (0029) takes from the placement's lock, as each row must carry
 * them (0027 took them per row and failed the call otherwise): the lock's user and asset, and
 * its amount on the placement's first row, 0 on the others (an OCO's stop leg).
 */
const FROM_LOCK: readonly [string, (f: PlacementFunding, first: boolean) => string][] = [
  ["user_id", (f) => f.lock.user_id],
  ["lock_asset", (f) => f.lock.asset],
  ["locked_amount", (f, first) => (first ? f.lock.amount : "0")],
];

/** `place_orders`' named arguments of a flush: name (after `f_`), Postgres type of its array, the array. */
type LockParam = readonly [string, string, string];

/**
 * A flush as `place_orders(f_… => …)` (migrations/0020_place_orders_columns.sql, 0029) takes it: one
 * typed array per column, which Postgres parses once, element by element (a jsonb flush cost
 * more to parse than the function spent writing it). Per placement: its lock and its audit
 * fields (its id and client id are its first row's); per order row: `p` (its placement, 0-based)
 * and the row's columns (`rowParams`; an older version's for the bench and the tests), but those
 * taken from the lock (`FROM_LOCK`), which are checked here. A row with a column `place_orders`
 * does not take, or whose lock columns are not its lock's, is refused here, not lost.
 */
function lockParams(placements: readonly PlacementFunding[], rowParams: RowParams): LockParam[] {
  const columns = Object.keys(rowParams);
  const fromLock = FROM_LOCK.filter(([column]) => !(column in rowParams));
  const perPlacement = PLACEMENT_PARAMS.map(() => new Array<Cell>(placements.length));
  const p: number[] = [];
  const perRow = columns.map(() => [] as Cell[]);
  for (let i = 0; i < placements.length; i++) {
    const f = placements[i]!;
    for (let k = 0; k < PLACEMENT_PARAMS.length; k++) perPlacement[k]![i] = PLACEMENT_PARAMS[k]![2](f);
    for (let r = 0; r < f.rows.length; r++) {
      const row = f.rows[r]!;
      let known = 0;
      for (let k = 0; k < columns.length; k++) {
        const cell = row[columns[k]!];
        if (cell !== undefined || columns[k]! in row) known++;
        perRow[k]!.push(cell);
      }
      for (const [column, expected] of fromLock) {
        const cell = row[column];
        if (cell !== expected(f, r === 0)) {
          throw new Error(
            `place_orders: placement ${i}'s row ${r} has ${column} ${cell}, its lock ${expected(f, r === 0)}`,
          );
        }
        known++;
      }
      if (known !== Object.keys(row).length) {
        const unknown = Object.keys(row).filter(
          (key) => !(key in rowParams) && !FROM_LOCK.some(([c]) => c === key),
        );
        throw new Error(`place_orders takes no order column ${unknown.join(", ")}`);
      }
      p.push(i);
    }
  }
  return [
    ...PLACEMENT_PARAMS.map(([name, type], k): LockParam => [name, type, arrayLiteral(perPlacement[k]!)]),
    ["p", "integer", arrayLiteral(p)],
    ...columns.map((c, k): LockParam => [rowParams[c]![0], rowParams[c]![1], arrayLiteral(perRow[k]!)]),
  ];
}

/** `place_orders`' arguments of a flush (`lockParams`) as drizzle SQL. */
export function lockArguments(
  placements: readonly PlacementFunding[],
  rowParams: RowParams = ROW_PARAMS,
): SQL {
  return sql.join(
    lockParams(placements, rowParams).map(
      ([name, type, cells]) => sql`${sql.raw(`f_${name}`)} => ${cells}::${sql.raw(type)}[]`,
    ),
    sql`, `,
  );
}

/**
 * The funds lock of a flush as one statement: `place_orders` (migrations/0029), which first passes
 * the market's lock fence when `fence` is given (./lock-fence.ts), and answers compactly
 * (`LockAnswer`).
 */
export function lockStatement(placements: readonly PlacementFunding[], fence?: FencePass): SQL {
  return sql`select place_orders(f_fence_market => ${fence?.market ?? null}::text, f_fence_epoch => ${fence?.epoch ?? null}::bigint, ${lockArguments(placements)}) as r`;
}

/** `lockStatement`'s text: the same for every flush (its arrays are its parameters). */
let lockText: string | undefined;

/**
 * `lockStatement` as the driver takes it, text and parameters, built without drizzle: the
 * market object sends one per flush, and drizzle's walk through its 28 parameters cost about
 * as much as building them.
 */
export function lockQuery(
  placements: readonly PlacementFunding[],
  fence?: FencePass,
): { text: string; values: (string | number | null)[] } {
  const params = lockParams(placements, ROW_PARAMS);
  lockText ??= `select place_orders(f_fence_market => $1::text, f_fence_epoch => $2::bigint, ${params
    .map(([name, type], k) => `f_${name} => $${k + 3}::${type}[]`)
    .join(", ")}) as r`;
  const values: (string | number | null)[] = [fence?.market ?? null, fence?.epoch ?? null];
  for (const param of params) values.push(param[2]);
  return { text: lockText, values };
}

/**
 * `place_orders`' answer (migrations/0027, 0029): the fence's mark; a number per placement, in order:
 * k ≥ 0 when locked (its balance row as the flush left it is `b[k]`: available, locked,
 * version), else the refusal's code (`REFUSALS`); and the order ids the
 * duplicate_client_order_id placements name, in order. Read by index, no key per element.
 */
export interface LockAnswer {
  mark: number | null;
  o: number[];
  d: (string | null)[];
  b: [string, string, string][];
}

const REFUSALS: Readonly<Record<number, LockOutcome>> = {
  [-1]: { outcome: "insufficient_funds" },
  [-2]: { outcome: "duplicate_order" },
  [-4]: { outcome: "invalid_lock" },
};
const DUPLICATE_CLIENT_ORDER_ID = -3;

/** The outcome per placement (one `locked` object per balance row, shared by its locks). */
export function lockOutcomes(placements: readonly PlacementFunding[], answer: LockAnswer): LockOutcome[] {
  const { o, d, b } = answer;
  if (o.length !== placements.length) {
    throw new Error(`place_orders answered ${o.length} outcomes for ${placements.length} placements`);
  }
  const rows = b.map(([available, locked, version]): LockOutcome => ({
    outcome: "locked",
    available,
    locked,
    version,
  }));
  const outcomes = new Array<LockOutcome>(o.length);
  let duplicates = 0;
  for (let i = 0; i < o.length; i++) {
    const code = o[i]!;
    const outcome =
      code >= 0
        ? rows[code]
        : code === DUPLICATE_CLIENT_ORDER_ID
          ? { outcome: "duplicate_client_order_id" as const, order_id: d[duplicates++] ?? null }
          : REFUSALS[code];
    if (!outcome) throw new Error(`place_orders answered ${code} for placement ${i}`);
    outcomes[i] = outcome;
  }
  return outcomes;
}

/**
 * The object's Postgres connection for placements: every placement of a flush is recorded and
 * funded by ONE call of `place_orders` (migrations/0029_place_orders_lean.sql), one round
 * trip and one Postgres commit whatever the count. Its own connection, apart from the settler's and the sockets' reads, so a
 * long settlement round or a burst of snapshots never delays an order.
 */
export class FundsLocker {
  private readonly kept: LockLine;

  constructor(env: Env) {
    this.kept = new LockLine(env);
  }

  /**
   * Resolves once every lock asked for so far is written to the connection, or queued behind its
   * opening (over the pooler, behind the lock out).
   */
  sent(): Promise<void> {
    return this.kept.sent();
  }

  /**
   * `traceIds`: the traces of the calls whose placements this lock carries, named in an SQL
   * comment (sqlcommenter style), so Postgres' statement logs and `pg_stat_activity` lead back
   * to the requests. Trace ids are hex, checked by the trace parser: nothing else reaches the SQL.
   * `fence`: the lock first passes the market's lock fence in the same call (./lock-fence.ts).
   */
  async lock(
    placements: readonly PlacementFunding[],
    traceIds: readonly string[] = [],
    fence?: FencePass,
  ): Promise<LockOutcome[]> {
    if (placements.length === 0) return [];
    const comment = traceIds.length ? `/* trace_ids='${traceIds.filter(isTraceId).join(",")}' */ ` : "";
    // Built before the line is used: a placement it refuses throws here, with nothing written
    // and the connection (and the locks out on it) left alone.
    const { text, values } = lockQuery(placements, fence);
    return this.kept.query(`${comment}${text}`, values, (result) => {
      const answer = (result.rows[0] as { r: LockAnswer }).r;
      if (fence) fence.mark = Number(answer.mark);
      return lockOutcomes(placements, answer);
    });
  }
}
