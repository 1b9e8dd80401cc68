type PoolArray = Uint8Array | Uint16Array | Int32Array | Float64Array;

/**
 * A copy of `from` with `length` elements; new elements are `fill`. The new part is written
 * even when `fill` is 0: fresh memory is mapped lazily, and the first write to each page costs
 * a page fault (tens of microseconds on a busy VM); taking them all in the growing operation
 * keeps them out of the many later operations that would touch those pages. A caller that
 * writes all of the new part at once passes `prefault` false and skips that pass.
 *
 * Never `ArrayBuffer.prototype.transfer` (a realloc without the copy): it detaches the old
 * buffer, and the first detach anywhere in an isolate clears V8's array-buffer-detaching
 * protector for good, after which every typed-array access in optimized code checks its buffer
 * first. That cost the thin book ~17% CPU per command and halved its instructions when removed
 * (one detach by unrelated code at start-up, and nothing else changed, brought it all back);
 * the wide book, which grows its arrays to megabytes in every run, paid ~3% for the copies.
 */
export function resized<T extends PoolArray>(from: T, length: number, fill = 0, prefault = true): T {
  const to = new (from.constructor as new (n: number) => T)(length);
  (to as Uint8Array).set(from.subarray(0, Math.min(from.length, length)) as Uint8Array);
  if (length > from.length && (fill !== 0 || prefault)) to.fill(fill, from.length);
  return to;
}
