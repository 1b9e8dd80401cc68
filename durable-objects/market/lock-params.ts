import { arrayLiteral, type Cell } from "../../src/db/array-literal";
import type { PlacementFunding } from "../../src/domain/market/commands";

/** One of `place_orders`' arguments: name (after `f_`), its Postgres type, its text (an array literal, or jsonb). */
export type LockParam = readonly [string, string, string];

/** An order row column `place_orders` takes: its parameter (after `f_`) and Postgres type, by column. */
export type RowParams = Readonly<Record<string, readonly [string, string]>>;

/** The order row columns `place_orders` (migrations/0029, 0033) takes, with their parameter (after `f_`) and type. */
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
 * The row columns `place_orders` (since 0029) takes from the placement's lock, as each row must
 * carry them (0027 took them per row and failed the call otherwise): the lock's user and asset,
 * and its amount on the placement's first row, 0 on the others (an OCO's stop leg).
 */
const FROM_LOCK: readonly [string, (f: PlacementFunding, first: boolean) => string][] = [
  ["user_id", (f) => f.lock.user_id],
  ["lock_asset", (f) => f.lock.asset],
  ["locked_amount", (f, first) => (first ? f.lock.amount : "0")],
];

/**
 * A flush's order rows as `place_orders` (migrations/0020_place_orders_columns.sql to 0033) takes
 * them: `p` (each row's placement, 0-based) and one typed array per column of `rowParams` (an
 * older version's for the bench and the tests), which Postgres parses once, element by element.
 * The columns taken from the lock (`FROM_LOCK`) are checked here: a row with a column
 * `place_orders` does not take, or whose lock columns are not its lock's, is refused here, not lost.
 */
export function rowLockParams(placements: readonly PlacementFunding[], rowParams: RowParams): LockParam[] {
  const columns = Object.keys(rowParams);
  const fromLock = FROM_LOCK.filter(([column]) => !(column in rowParams));
  let n = 0;
  for (const f of placements) n += f.rows.length;
  // Sized up front: an array grown by push is copied at each step (garbage on the object's thread).
  const p = new Array<number>(n);
  const perRow = columns.map(() => new Array<Cell>(n));
  let at = 0;
  for (let i = 0; i < placements.length; i++) {
    const f = placements[i]!;
    for (let r = 0; r < f.rows.length; r++) {
      const row = f.rows[r]!;
      let known = 0;
      for (let k = 0; k < columns.length; k++) {
        const cell = row[columns[k]!];
        if (cell !== undefined || columns[k]! in row) known++;
        perRow[k]![at] = cell;
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
      p[at++] = i;
    }
  }
  return [
    ["p", "integer[]", arrayLiteral(p)],
    ...columns.map((c, k): LockParam => [
      rowParams[c]![0],
      `${rowParams[c]![1]}[]`,
      arrayLiteral(perRow[k]!),
    ]),
  ];
}

/** The audit fields a placement's context is: actor id (null: the lock's user), type, IP, user agent, request id. */
type Context = [string | null, string, string | null, string | null, string | null];

/**
 * A flush's placements as `place_orders` (migrations/0033) takes them: per placement its lock, its
 * audit context (`f_context`) and details (`f_detail`); per context (a socket frame's or a
 * request's placements share one) the audit fields; each distinct details object once (a
 * flush's are a few: {market, side, type}). 0029 took every audit field per placement, a jsonb
 * details each: ~45% of a socket flush's bytes, parsed one by one.
 */
export function placementLockParams(placements: readonly PlacementFunding[]): LockParam[] {
  const n = placements.length;
  const lockUser = new Array<string>(n);
  const lockAsset = new Array<string>(n);
  const lockAmount = new Array<string>(n);
  const context = new Array<number>(n);
  const detail = new Array<number>(n);
  const contexts: Context[] = [];
  const contextOf = new Map<string, number>();
  const details: string[] = [];
  const detailOf = new Map<string, number>();
  // Placements mostly share their details object (placement.ts): each is serialised once.
  const detailOfObject = new Map<object | undefined, number>();
  let last: Context | undefined;
  for (let i = 0; i < n; i++) {
    const f = placements[i]!;
    const a = f.audit;
    lockUser[i] = f.lock.user_id;
    lockAsset[i] = f.lock.asset;
    lockAmount[i] = f.lock.amount;
    // A null actor would read as the lock's user: refused, as nothing the Worker builds has one.
    if (typeof a.actor_id !== "string") throw new Error(`place_orders: placement ${i} has no actor`);
    const actor = a.actor_id === f.lock.user_id ? null : a.actor_id;
    // A frame's placements are consecutive: most have the context of the one before.
    if (
      last &&
      last[0] === actor &&
      last[1] === a.actor_type &&
      last[2] === a.ip_address &&
      last[3] === a.user_agent &&
      last[4] === a.request_id
    ) {
      context[i] = context[i - 1]!;
    } else {
      last = [actor, a.actor_type, a.ip_address, a.user_agent, a.request_id];
      const key = JSON.stringify(last);
      let k = contextOf.get(key);
      if (k === undefined) {
        k = contexts.push(last) - 1;
        contextOf.set(key, k);
      }
      context[i] = k;
    }
    let d = detailOfObject.get(a.details);
    if (d === undefined) {
      const json = JSON.stringify(a.details ?? {});
      d = detailOf.get(json) ?? details.push(json) - 1;
      detailOf.set(json, d);
      detailOfObject.set(a.details, d);
    }
    detail[i] = d;
  }
  const column = (k: number) => arrayLiteral(contexts.map((c) => c[k]));
  return [
    ["lock_user", "uuid[]", arrayLiteral(lockUser)],
    ["lock_asset", "text[]", arrayLiteral(lockAsset)],
    ["lock_amount", "numeric[]", arrayLiteral(lockAmount)],
    ["context", "integer[]", arrayLiteral(context)],
    ["detail", "integer[]", arrayLiteral(detail)],
    ["actor_id", "uuid[]", column(0)],
    ["actor_type", "text[]", column(1)],
    ["ip_address", "text[]", column(2)],
    ["user_agent", "text[]", column(3)],
    ["request_id", "text[]", column(4)],
    ["details", "jsonb[]", arrayLiteral(details)],
  ];
}
