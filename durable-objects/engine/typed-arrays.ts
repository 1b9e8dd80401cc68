type PoolArray = Uint8Array | Uint16Array | Int32Array | Float64Array;

/** ES2024's ArrayBuffer.prototype.transfer (Node 22, workerd); the project's lib is ES2023. */
type Transferable = ArrayBuffer & { transfer(byteLength: number): ArrayBuffer };

/**
 * `from` with `length` elements, its buffer moved, not copied: `transfer` hands the memory to a
 * new buffer of the new size (a realloc, usually in place for large buffers) and detaches the
 * old one, so `from` and every other view of its buffer are empty afterwards — the caller
 * replaces them all. Allocating anew and copying instead cost ~13% of the wide benchmark (a book
 * growing to 130,000 orders allocated three times its final size in fresh pages and copied two).
 * `from` must view its whole buffer. New elements are `fill`; the new part is written even when
 * `fill` is 0: fresh memory is mapped lazily, and the first write to each page costs a page fault
 * (tens of microseconds on a busy VM); taking them all here keeps them out of the many later
 * operations that would touch those pages.
 */
export function resized<T extends PoolArray>(from: T, length: number, fill = 0): T {
  const old = from.length;
  const View = from.constructor as new (buffer: ArrayBuffer) => T;
  const to = new View((from.buffer as Transferable).transfer(length * from.BYTES_PER_ELEMENT));
  if (length > old) to.fill(fill, old);
  return to;
}
