import { IdIndex } from "./id-index";
import type { OrderPool } from "./order-pool";
import { resized } from "./typed-arrays";

/**
 * Each user's live orders as an intrusive list in acceptance order (through the pool's
 * `userPrev`/`userNext`), so cancel-all and open-orders cost O(that user's orders).
 * A user record exists only while the user has live orders; the pool's `user` column holds each
 * order's record (4 bytes, not the 8 of the user id), and `idOf` gives the id back.
 */
export class UserOrders {
  private ids = new Float64Array(64);
  private head = new Int32Array(64);
  private tail = new Int32Array(64);
  private readonly index = new IdIndex(64);
  private freeHead = -1;
  private used = 0;

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

  /** Appends `slot` to the orders of `userId` and sets its `user` record. */
  append(slot: number, userId: number): void {
    const pool = this.pool;
    let u = this.index.find(userId, this.ids);
    if (u === -1) u = this.addUser(userId);
    pool.user[slot] = u;
    const last = this.tail[u]!;
    pool.userPrev[slot] = last;
    pool.userNext[slot] = -1;
    if (last === -1) this.head[u] = slot;
    else pool.userNext[last] = slot;
    this.tail[u] = slot;
  }

  remove(slot: number): void {
    const pool = this.pool;
    const prev = pool.userPrev[slot]!;
    const next = pool.userNext[slot]!;
    if (prev !== -1 && next !== -1) {
      pool.userNext[prev] = next;
      pool.userPrev[next] = prev;
      return;
    }
    const u = pool.user[slot]!;
    if (prev === -1) this.head[u] = next;
    else pool.userNext[prev] = next;
    if (next === -1) this.tail[u] = prev;
    else pool.userPrev[next] = prev;
    if (this.head[u] === -1) this.removeUser(u);
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
      for (let s = this.head[u]!; s !== -1; s = pool.userNext[s]!) {
        if (pool.user[s] !== u)
          throw new Error(`user orders: order ${pool.id[s]} is listed under user ${id}`);
        if (pool.userPrev[s] !== prev)
          throw new Error(`user orders: order ${pool.id[s]} has a wrong back link`);
        if (++orders > pool.slotsUsed) throw new Error(`user orders: the list of user ${id} loops`);
        prev = s;
      }
      if (this.tail[u] !== prev) throw new Error(`user orders: user ${id} has a wrong tail`);
    }
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
    return u;
  }

  /** Frees the record; the free list is threaded through `tail`, and `head` stays -1. */
  private removeUser(u: number): void {
    this.index.remove(u, this.ids);
    this.tail[u] = this.freeHead;
    this.freeHead = u;
  }

  private grow(): void {
    const n = this.ids.length * 2;
    this.ids = resized(this.ids, n);
    this.head = resized(this.head, n);
    this.tail = resized(this.tail, n);
  }
}
