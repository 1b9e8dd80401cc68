import { sql, type SQL } from "drizzle-orm";
import type { LockOutcome, PlacementFunding } from "../../src/domain/market/commands";
import type { FencePass } from "./lock-fence";
import { LockLine } from "./lock-line";
import { placementLockParams, ROW_PARAMS, rowLockParams, type LockParam } from "./lock-params";

const isTraceId = (id: string) => /^[0-9a-f]{32}$/.test(id);

/**
 * A flush as `place_orders(f_… => …)` (migrations/0033) takes it: per placement its lock and audit
 * context, per context the audit fields, the details it does not build, per order row `p` and
 * the row's columns (./lock-params.ts).
 */
function lockParams(placements: readonly PlacementFunding[]): LockParam[] {
  // Rows first: a row refused there throws before the rest is built.
  const rows = rowLockParams(placements, ROW_PARAMS);
  return [...placementLockParams(placements), ...rows];
}

/** `place_orders`' arguments as drizzle SQL. */
export function lockParamsSql(params: readonly LockParam[]): SQL {
  return sql.join(
    params.map(([name, type, value]) => sql`${sql.raw(`f_${name}`)} => ${value}::${sql.raw(type)}`),
    sql`, `,
  );
}

/** `place_orders`' arguments of a flush (`lockParams`) as drizzle SQL. */
export function lockArguments(placements: readonly PlacementFunding[]): SQL {
  return lockParamsSql(lockParams(placements));
}

/**
 * The funds lock of a flush as one statement: `place_orders` (migrations/0033), which first passes
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
 * market object sends one per flush, and drizzle's walk through its parameters cost about
 * as much as building them.
 */
export function lockQuery(
  placements: readonly PlacementFunding[],
  fence?: FencePass,
): { text: string; values: (string | number | null)[] } {
  const params = lockParams(placements);
  lockText ??= `select place_orders(f_fence_market => $1::text, f_fence_epoch => $2::bigint, ${params
    .map(([name, type], k) => `f_${name} => $${k + 3}::${type}`)
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
 * funded by ONE call of `place_orders` (migrations/0033_place_orders_audit_context.sql), one round
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
