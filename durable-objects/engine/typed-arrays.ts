type PoolArray = Uint8Array | Uint16Array | Int32Array | Float64Array;

/**
 * A copy of `from` with `length` elements; new elements are `fill`. The new part is written
 * even when `fill` is 0: fresh memory is mapped lazily, and the first write to each page costs
 * a page fault (tens of microseconds on a busy VM). Taking them all in the growing operation,
 * which copies anyway, keeps them out of the many later operations that would touch those pages.
 */
export function resized<T extends PoolArray>(from: T, length: number, fill = 0): T {
  const to = new (from.constructor as new (n: number) => T)(length);
  (to as Uint8Array).set(from.subarray(0, Math.min(from.length, length)) as Uint8Array);
  if (length > from.length) to.fill(fill, from.length);
  return to;
}
