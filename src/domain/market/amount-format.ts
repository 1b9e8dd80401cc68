import { formatUnits, parseUnits } from "../../lib/money";

// Printing the amounts of order replies, memoised. A market's replies repeat the same few
// values (quantities, zero, prices near the mid), and every placement answered on the market
// object's one thread printed each of them afresh (BigInt → string, and the book's grid strings
// parsed back and printed again). Each cache is bounded and simply starts over when full.

const LIMIT = 4_096;

/** A bounded memo: started over when full. */
export class Memo<K, V> {
  private readonly map = new Map<K, V>();

  get(key: K, make: (key: K) => V): V {
    const value = this.map.get(key);
    return value === undefined ? this.keep(key, make(key)) : value;
  }

  /**
   * `peek(key) ?? keep(key, value)` is `get` for values never null, without the `make` closure:
   * on the order path one is allocated on every call, hit or miss (several per order).
   */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  keep(key: K, value: V): V {
    if (this.map.size >= LIMIT) this.map.clear();
    this.map.set(key, value);
    return value;
  }
}

/** By decimals (0..36). */
const printed: Memo<bigint, string>[] = [];
const reprinted: Memo<string, string>[] = [];

function memoOf<K>(memos: Memo<K, string>[], decimals: number): Memo<K, string> {
  return (memos[decimals] ??= new Memo());
}

/** Zero by decimals: most amounts of a new order's reply (filled, consumed, released) are zero. */
const zeros: string[] = [];

/** `formatUnits(value, decimals)`, memoised. */
export function printAmount(value: bigint, decimals: number): string {
  if (value === 0n) return (zeros[decimals] ??= formatUnits(0n, decimals));
  const memo = memoOf(printed, decimals);
  return memo.peek(value) ?? memo.keep(value, formatUnits(value, decimals));
}

/** A decimal string (the book's grid prints "0.001") with exactly `decimals` places ("0.00100000"). */
export function reprintAmount(text: string, decimals: number): string {
  const memo = memoOf(reprinted, decimals);
  return (
    memo.peek(text) ?? memo.keep(text, formatUnits(parseUnits(text, decimals, { allowZero: true }), decimals))
  );
}

let lastTime = NaN;
let lastIso = "";

/** `date.toISOString()`, remembering the last one: a flush's rows share their time. */
export function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString();
    lastTime = time;
  }
  return lastIso;
}

/** A memo per object (a market's rules): values that depend on more than the decimals. */
export function memoFor<O extends object, V>(owner: O, memos: WeakMap<O, Memo<string, V>>): Memo<string, V> {
  let memo = memos.get(owner);
  if (!memo) memos.set(owner, (memo = new Memo()));
  return memo;
}
