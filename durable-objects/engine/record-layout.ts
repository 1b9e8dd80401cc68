// Where each field of an order record (order-pool.ts) and a level record (price-levels.ts) lives.
// The layout is its own module so that the pool and the levels, like every other hot file, read
// it through module-level copies of imports: V8 loads and hole-checks a module's exported `const`
// at each use even inside that module (an export is a module cell), while a plain module-level
// `const` is folded into the compiled code (~3% of a thin-book command).

/** Int32 words per order record: 64 bytes, so the fields one command touches share a cache line or two. */
export const WORDS = 16;
/** log2(WORDS): the record of slot s starts at `i32[s << RECORD_SHIFT]`, and at `f64[s << F64_SHIFT]`. */
export const RECORD_SHIFT = 4;
export const F64_SHIFT = 3;
// Float64 fields, at f64[(slot << F64_SHIFT) + field] (integers, exact below 2^53):
export const ID = 0;
/** Total ordered quantity (changed by amend); remaining = quantity − filled. */
export const QUANTITY = 1;
export const FILLED = 2;
/** Quantity displayed in the book: the remaining quantity, or an iceberg's current slice. */
export const SHOWN = 3;
// Int32 fields, at i32[(slot << RECORD_SHIFT) + field] (words 0-7 are the four Float64 fields):
export const PRICE = 8;
/** Links of a resting order in its level's FIFO, or of a pending stop in the stop list (free list: NEXT). */
export const PREV = 9;
export const NEXT = 10;
/** Links in the user's open orders (UserOrders). */
export const USER_PREV = 11;
export const USER_NEXT = 12;
/** The order's user record in UserOrders (not the user id: see `UserOrders.idOf`). */
export const USER = 13;
export const META = 14;
/** The level record a resting order is queued in (so a cancel needs no price lookup). */
export const LEVEL = 15;

// `meta`'s flag bits. Bits 0-12 are the snapshot's `meta` (SNAPSHOT_META, packed by order-pool's
// `packMeta`); bits 13-14 only say which cold columns hold a value, and bit 15 is set only inside
// a command.
/** The order is an iceberg: `peak` holds its peak size (otherwise the peak is 0 and not stored). */
export const ICEBERG_BIT = 1 << 13;
/** The order is an OCO leg: `oco` holds the other leg's slot (otherwise it is -1 and not stored). */
export const OCO_BIT = 1 << 14;
/**
 * A new order still matching, not yet in the id index nor its user's list: an order that never
 * rests (a market order, a limit that fills at once) never enters them. Set only inside a command.
 */
export const UNLISTED_BIT = 1 << 15;
/** The bits a snapshot records (the cold-column bits follow from the values). */
export const SNAPSHOT_META = (1 << 13) - 1;

// A level record is 32 bytes (8 Int32 words): its displayed quantity as a Float64 at
// f64[level << VISIBLE_SHIFT] (words 0-1), then its price and the FIFO's head and tail slots at
// i32[(level << LEVEL_SHIFT) + field]. One record per level keeps a cancel's level update on one line.
export const LEVEL_SHIFT = 3;
/** Displayed quantity, at `f64[level << VISIBLE_SHIFT]`. */
export const VISIBLE_SHIFT = 2;
export const L_PRICE = 2;
export const L_HEAD = 3;
export const L_TAIL = 4;
