/** Random bytes for this many ids are drawn at once (one `getRandomValues` call, not one per id). */
const POOLED_IDS = 256;
let pool = new Uint8Array(0);
let taken = 0;
/** The last id's time and counter: ids stay strictly increasing within a millisecond. */
let lastMs = -Infinity;
let seq = 0;

/** Two lowercase hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

let prefixMs = NaN;
let prefix = "";

/** `xxxxxxxx-xxxx-`: the id's 48 bits of milliseconds, printed once per millisecond. */
function timePrefix(ms: number): string {
  if (ms !== prefixMs) {
    const hex = ms.toString(16).padStart(12, "0");
    prefix = `${hex.slice(0, 8)}-${hex.slice(8)}-`;
    prefixMs = ms;
  }
  return prefix;
}

/**
 * A new order id: a UUIDv7, ordered by creation time. Order ids are the key of an index in
 * the market object's SQLite and of the orders table in Postgres; random (v4) keys land on a
 * random page of that index each, so a flush of 50 orders dirtied about 50 pages, where
 * time-ordered keys append to the last few (measured with SQLite: a flush of 50 into 100,000
 * rows took 5-6 ms with v4 keys, about 1 ms with these).
 *
 * The ids of one isolate strictly increase, as the `uuid` package's `v7()` makes them (its
 * layout and counter rule: a random start each millisecond, +1 within it, 31 bits over the
 * version and variant); the random bytes come from a pool, since `getRandomValues` per id was a
 * visible part of placing an order on the market object's thread, and the id is printed here
 * straight from the pool (no byte array per id, the time's digits once per millisecond).
 */
export function newOrderId(): string {
  if (taken + 16 > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(16 * POOLED_IDS));
    taken = 0;
  }
  const r = taken;
  taken += 16;
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = ((pool[r + 6]! & 0x7f) << 24) | (pool[r + 7]! << 16) | (pool[r + 8]! << 8) | pool[r + 9]!;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return (
    timePrefix(lastMs) +
    HEX[0x70 | ((seq >>> 28) & 0x0f)]! +
    HEX[(seq >>> 20) & 0xff]! +
    "-" +
    HEX[0x80 | ((seq >>> 14) & 0x3f)]! +
    HEX[(seq >>> 6) & 0xff]! +
    "-" +
    HEX[((seq << 2) & 0xff) | (pool[r + 10]! & 0x03)]! +
    HEX[pool[r + 11]!]! +
    HEX[pool[r + 12]!]! +
    HEX[pool[r + 13]!]! +
    HEX[pool[r + 14]!]! +
    HEX[pool[r + 15]!]!
  );
}
