import type { Batch, BookOrderRow } from "./batch";
import type { CommandResult } from "../../src/domain/market/commands";
import { PackedIds } from "./packed-ids";

/** The string ids behind an engine order number. */
export interface OrderIdStrings {
  orderId: string;
  userId: string;
  clientOrderId: string | null;
}

export const isIdString = (v: unknown): v is string =>
  typeof v === "string" && v.length >= 1 && v.length <= 64;

/** Refs kept by `ref`'s cache (direct-mapped by the order number's low bits). */
const RECENT = 16;

/**
 * Id mapping: the engine knows orders and users by small numbers, the world by string ids. The
 * numbers of live orders and of every user are cached; anything else is read from SQLite.
 */
export class OrderIds {
  private readonly userNums = new Map<string, number>();
  /** Users by number (the inverse of `userNums`), to give a packed order's user id. */
  private readonly userIds: string[] = [];
  /**
   * Live orders whose id is a lowercase UUID, without a client id (the ids this exchange mints):
   * packed off the JS heap, no string and no object per resting order for the major GC to mark.
   */
  private readonly packed = new PackedIds();
  /** The other cached ids: free-text and uppercase ids, client order ids, numbers with no row. */
  private readonly refs = new Map<number, OrderIdStrings>();
  /**
   * The refs given lately, so a packed id is not printed again each time it is asked for: a
   * taker once per trade it makes, a filled maker for its trade and its done event.
   */
  private readonly recentNums = new Float64Array(RECENT).fill(NaN);
  private readonly recentRefs = new Array<OrderIdStrings | undefined>(RECENT);
  /**
   * Ids recovered as never booked (`Market.abandon`): their rows carry negative numbers, which no
   * engine order has. Few (a crash's or a timeout's placements), so all are kept in memory.
   */
  private readonly unbookedIds = new Set<string>();

  constructor(private readonly sql: SqlStorage) {
    for (const row of sql.exec<{ num: number; user_id: string }>("SELECT num, user_id FROM users")) {
      this.userNums.set(row.user_id, row.num);
      this.userIds[row.num] = row.user_id;
    }
    for (const row of sql.exec<{ order_id: string }>("SELECT order_id FROM orders WHERE num < 0")) {
      this.unbookedIds.add(row.order_id);
    }
  }

  /** Whether this id was recovered as never booked: refused for good, whatever Postgres says. */
  unbooked(orderId: string): boolean {
    return this.unbookedIds.has(orderId);
  }

  /** Records an id the book never took with its refusal (a row numbered below zero, in the batch). */
  addUnbooked(row: BookOrderRow, batch: Batch): void {
    this.unbookedIds.add(row.orderId);
    batch.orders.push(row);
    batch.placed.set(row.orderId, row);
  }

  /** The user's engine number, if the book has seen the user. */
  userNum(userId: string): number | undefined {
    return this.userNums.get(userId);
  }

  /** Numbers a new user (recorded in the batch). */
  addUser(userId: string, num: number, batch: Batch): number {
    this.userNums.set(userId, num);
    this.userIds[num] = userId;
    batch.users.push({ num, userId });
    return num;
  }

  /** Caches a new order's ids; the ref itself is kept at hand, as its events ask for it next. */
  remember(num: number, ref: OrderIdStrings): void {
    const user = ref.clientOrderId === null ? this.userNums.get(ref.userId) : undefined;
    if (user !== undefined && this.packed.add(num, ref.orderId, user)) {
      this.refs.delete(num);
    } else {
      this.packed.delete(num);
      this.refs.set(num, ref);
    }
    this.recentNums[num & (RECENT - 1)] = num;
    this.recentRefs[num & (RECENT - 1)] = ref;
  }

  /** The order left the book (done or rejected): its ids need no cache any more. */
  forget(num: number): void {
    if (!this.packed.delete(num)) this.refs.delete(num);
    if (this.recentNums[num & (RECENT - 1)] === num) {
      this.recentNums[num & (RECENT - 1)] = NaN;
      this.recentRefs[num & (RECENT - 1)] = undefined;
    }
  }

  /** String ids of an engine order number (cached while the order lives). */
  ref(num: number): OrderIdStrings {
    const k = num & (RECENT - 1);
    if (this.recentNums[k] === num) return this.recentRefs[k]!;
    const slot = this.packed.slotOf(num);
    if (slot >= 0) {
      const ref = {
        orderId: this.packed.orderIdAt(slot),
        userId: this.userIds[this.packed.userAt(slot)]!,
        clientOrderId: null,
      };
      this.recentNums[k] = num;
      this.recentRefs[k] = ref;
      return ref;
    }
    let ref = this.refs.get(num);
    if (!ref) {
      const row = this.sql
        .exec<{ order_id: string; user_id: string; client_order_id: string | null }>(
          "SELECT order_id, user_id, client_order_id FROM orders WHERE num = ?",
          num,
        )
        .toArray()[0];
      if (!row) {
        ref = { orderId: `#${num}`, userId: "", clientOrderId: null };
        this.refs.set(num, ref);
        return ref;
      }
      // Kept as a new order's would be: after a restart, the resting book's ids are read back
      // here, and packed they cost the major GC nothing.
      ref = { orderId: row.order_id, userId: row.user_id, clientOrderId: row.client_order_id };
      this.remember(num, ref);
    }
    return ref;
  }

  /** The placement recorded under this id, with the result it returned. */
  stored(orderId: string): BookOrderRow | null {
    const row = this.sql
      .exec<{
        num: number;
        client_order_id: string | null;
        user_id: string;
        result: string;
      }>("SELECT num, client_order_id, user_id, result FROM orders WHERE order_id = ?", orderId)
      .toArray()[0];
    if (!row) return null;
    return {
      num: row.num,
      orderId,
      clientOrderId: row.client_order_id,
      userId: row.user_id,
      result: JSON.parse(row.result) as CommandResult,
    };
  }

  /** The newest order carrying this client id (of this user, when given). */
  byClientOrderId(clientOrderId: string, userId: string | undefined): BookOrderRow | null {
    const hit = this.sql
      .exec<{ order_id: string }>(
        "SELECT order_id FROM orders WHERE client_order_id = ? AND (? IS NULL OR user_id = ?) ORDER BY num DESC LIMIT 1",
        clientOrderId,
        userId ?? null,
        userId ?? null,
      )
      .toArray()[0];
    return hit ? this.stored(hit.order_id) : null;
  }

  /**
   * The string ids of these engine numbers. The ids not cached in memory are read in one
   * statement, so a restarted object lists a deep book fast.
   */
  orderIdsOf(nums: Iterable<number>): string[] {
    const ids: string[] = [];
    const missing: number[] = [];
    for (const num of nums) {
      const slot = this.packed.slotOf(num);
      if (slot >= 0) {
        ids.push(this.packed.orderIdAt(slot));
        continue;
      }
      const ref = this.refs.get(num);
      if (ref) ids.push(ref.orderId);
      else missing.push(num);
    }
    if (missing.length) {
      const rows = this.sql.exec<{ order_id: string }>(
        "SELECT order_id FROM orders WHERE num IN (SELECT value FROM json_each(?))",
        JSON.stringify(missing),
      );
      for (const row of rows) ids.push(row.order_id);
    }
    return ids;
  }
}
