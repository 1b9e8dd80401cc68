import { IdIndex } from "./id-index";
import * as record from "./order-pool";
import type { OrderPool } from "./order-pool";
import { resized } from "./typed-arrays";

// Module-level copies of imported values the hot path reads: V8 folds a module's own constants
// into compiled code but loads and checks an imported binding at each use (see matching-engine.ts).
const { RECORD_SHIFT, USER, USER_NEXT, USER_PREV } = record;

/**
 * Each user's live orders as an intrusive list in acceptance order (through the pool's
 * USER_PREV/USER_NEXT), so cancel-all and open-orders cost O(that user's orders). The pool's
 * USER field holds each order's user record (4 bytes, not the 8 of the user id), and `idOf`
 * gives the id back.
 *
 * A record whose user has no live order left stays indexed ("idle"): on a thin book most users
 * come and go with every order, and dropping and re-adding their record cost two hash updates
 * per order. Idle records are swept when they outnumber max(1,024, twice the active users), so
 * memory stays proportional to the users with orders (the sweep is amortized O(1)).
 */
export class UserOrders {
  private ids = new Float64Array(64);
  private head = new Int32Array(64);
  private tail = new Int32Array(64);
  private readonly index = new IdIndex(64);
  private freeHead = -1;
  private used = 0;
  /** Records in use (indexed) and how many of them are idle (no live order). */
  private records = 0;
  private idle = 0;

  constructor(private readonly pool: OrderPool) {}

  /** The user's oldest live order slot, or -1. */
  first(userId: number): number {
    const u = this.index.find(userId, this.ids);
    return u === -1 ? -1 : this.head[u]!;
  }

  /** The user id of record `u` (the pool's `user` value of any of that user's live orders). */
  idOf(u: number): number {
    return this.ids[u]!;
  }

  /** Every user id that has live orders, ascending. */
  userIds(): number[] {
    const out: number[] = [];
    for (let u = 0; u < this.used; u++) if (this.head[u] !== -1) out.push(this.ids[u]!);
    return out.sort((a, b) => a - b);
  }

  /** Appends `slot` to the orders of `userId` and sets its USER field. */
  append(slot: number, userId: number): void {
    this.appendTo(slot, this.recordOf(userId));
  }

  /** The record of `userId`, new (and idle) if the user had none. */
  recordOf(userId: number): number {
    const u = this.index.find(userId, this.ids);
    return u === -1 ? this.addUser(userId) : u;
  }

  /** Appends `slot` to the orders of record `u` (a restore reuses `u` for a run of one user's orders). */
  appendTo(slot: number, u: number): void {
    const i32 = this.pool.i32;
    const o = slot << RECORD_SHIFT;
    i32[o + USER] = u;
    const last = this.tail[u]!;
    i32[o + USER_PREV] = last;
    i32[o + USER_NEXT] = -1;
    if (last === -1) {
      this.head[u] = slot;
      this.idle--;
    } else {
      i32[(last << RECORD_SHIFT) + USER_NEXT] = slot;
    }
    this.tail[u] = slot;
  }

  remove(slot: number): void {
    const i32 = this.pool.i32;
    const o = slot << RECORD_SHIFT;
    const prev = i32[o + USER_PREV]!;
    const next = i32[o + USER_NEXT]!;
    if (prev !== -1 && next !== -1) {
      i32[(prev << RECORD_SHIFT) + USER_NEXT] = next;
      i32[(next << RECORD_SHIFT) + USER_PREV] = prev;
      return;
    }
    const u = i32[o + USER]!;
    if (prev === -1) this.head[u] = next;
    else i32[(prev << RECORD_SHIFT) + USER_NEXT] = next;
    if (next === -1) this.tail[u] = prev;
    else i32[(next << RECORD_SHIFT) + USER_PREV] = prev;
    if (this.head[u] === -1 && ++this.idle > Math.max(MIN_IDLE, 2 * (this.records - this.idle))) this.sweep();
  }

  /**
   * Throws on the first broken invariant of the per-user lists: each record in use is indexed
   * under its id and links its orders both ways, each of them pointing back at the record.
   * Returns how many orders the lists hold.
   */
  validate(): number {
    const pool = this.pool;
    let orders = 0;
    for (let u = 0; u < this.used; u++) {
      if (this.head[u] === -1) continue;
      const id = this.ids[u]!;
      if (this.index.find(id, this.ids) !== u) throw new Error(`user orders: user ${id} is not indexed`);
      let prev = -1;
      for (let s = this.head[u]!; s !== -1; s = pool.int(s, USER_NEXT)) {
        if (pool.int(s, USER) !== u)
          throw new Error(`user orders: order ${pool.id(s)} is listed under user ${id}`);
        if (pool.int(s, USER_PREV) !== prev)
          throw new Error(`user orders: order ${pool.id(s)} has a wrong back link`);
        if (++orders > pool.slotsUsed) throw new Error(`user orders: the list of user ${id} loops`);
        prev = s;
      }
      if (this.tail[u] !== prev) throw new Error(`user orders: user ${id} has a wrong tail`);
    }
    let idle = 0;
    for (let u = 0; u < this.used; u++) {
      if (this.ids[u] !== 0 && this.head[u] === -1) {
        if (this.index.find(this.ids[u]!, this.ids) !== u)
          throw new Error(`user orders: idle user ${this.ids[u]} is not indexed`);
        idle++;
      }
    }
    if (idle !== this.idle) throw new Error(`user orders: ${this.idle} idle users counted, ${idle} found`);
    if (this.index.count !== this.records)
      throw new Error(`user orders: ${this.records} records, ${this.index.count} indexed`);
    return orders;
  }

  private addUser(userId: number): number {
    let u = this.freeHead;
    if (u !== -1) {
      this.freeHead = this.tail[u]!;
    } else {
      if (this.used === this.ids.length) this.grow();
      u = this.used++;
    }
    this.ids[u] = userId;
    this.head[u] = -1;
    this.tail[u] = -1;
    this.index.insert(u, this.ids);
    this.records++;
    this.idle++;
    return u;
  }

  /** Frees every idle record; a free record has id 0, its free list is threaded through `tail`. */
  private sweep(): void {
    for (let u = 0; u < this.used; u++) {
      if (this.ids[u] === 0 || this.head[u] !== -1) continue;
      this.index.remove(u, this.ids);
      this.ids[u] = 0;
      this.tail[u] = this.freeHead;
      this.freeHead = u;
    }
    this.records -= this.idle;
    this.idle = 0;
  }

  private grow(): void {
    const n = this.ids.length * 2;
    this.ids = resized(this.ids, n);
    this.head = resized(this.head, n);
    this.tail = resized(this.tail, n);
  }
}

/** Idle user records kept before a sweep at least (see UserOrders). */
const MIN_IDLE = 1024;
