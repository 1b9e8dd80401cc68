type PoolArray = Uint8Array | Uint16Array | Int32Array | Float64Array;

/** A copy of `from` with `length` elements; new elements are `fill` (pools grow by doubling). */
export function resized<T extends PoolArray>(from: T, length: number, fill = 0): T {
  const to = new (from.constructor as new (n: number) => T)(length);
  (to as Uint8Array).set(from.subarray(0, Math.min(from.length, length)) as Uint8Array);
  if (fill !== 0 && length > from.length) to.fill(fill, from.length);
  return to;
}
