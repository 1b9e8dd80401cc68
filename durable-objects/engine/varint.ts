/**
 * Unsigned LEB128 varints of non-negative safe integers: small ids and sizes take 1-3 bytes.
 * Values below 2^31 take an integer fast path; larger ones (ids up to 2^53) use exact
 * floating-point division, since bit operations are 32-bit.
 */
export class VarintWriter {
  private bytes: Uint8Array;
  private length = 0;

  /** `expected` bytes are allocated up front; the buffer doubles beyond that. */
  constructor(expected = 256) {
    this.bytes = new Uint8Array(Math.max(16, expected));
  }

  uint(v: number): void {
    if (this.length + 8 > this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    const bytes = this.bytes;
    let n = this.length;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        bytes[n++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        bytes[n++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    bytes[n++] = v;
    this.length = n;
  }

  /** The bytes written; a view of the buffer when little of it is unused (a large snapshot is not copied). */
  finish(): Uint8Array {
    const slack = this.bytes.length - this.length;
    return slack <= this.length >> 3 ? this.bytes.subarray(0, this.length) : this.bytes.slice(0, this.length);
  }
}

export class VarintReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  uint(): number {
    const bytes = this.bytes;
    const first = bytes[this.offset];
    if (first !== undefined && first < 0x80) {
      this.offset++;
      return first;
    }
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= bytes.length) throw new RangeError("truncated engine snapshot");
      const b = bytes[this.offset++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  }

  /** Whether every byte has been read. */
  get done(): boolean {
    return this.offset === this.bytes.length;
  }
}
