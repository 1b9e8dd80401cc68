/**
 * Which price levels of one side are non-empty: one bit per level plus a summary bit per
 * 32-level word, so finding the next best level skips 1,024 empty levels per summary word.
 */
export class LevelBitset {
  readonly words: Int32Array;
  private readonly summary: Int32Array;

  /** `bits` must be a multiple of 1,024. */
  constructor(readonly bits: number) {
    this.words = new Int32Array(bits >> 5);
    this.summary = new Int32Array(bits >> 10);
  }

  set(i: number): void {
    const w = i >> 5;
    this.words[w]! |= 1 << (i & 31);
    this.summary[w >> 5]! |= 1 << (w & 31);
  }

  clear(i: number): void {
    const w = i >> 5;
    const word = this.words[w]! & ~(1 << (i & 31));
    this.words[w] = word;
    if (word === 0) this.summary[w >> 5]! &= ~(1 << (w & 31));
  }

  has(i: number): boolean {
    return (this.words[i >> 5]! & (1 << (i & 31))) !== 0;
  }

  /** A copy with `bits` bits (a multiple of 1,024, at least this one's): the same bits set, the new ones clear. */
  widened(bits: number): LevelBitset {
    const to = new LevelBitset(bits);
    to.words.set(this.words);
    to.summary.set(this.summary);
    return to;
  }

  /** Clears every bit. */
  reset(): void {
    this.words.fill(0);
    this.summary.fill(0);
  }

  /** Throws unless each summary bit says exactly whether its word is non-zero. */
  validate(): void {
    for (let w = 0; w < this.words.length; w++) {
      const summarized = (this.summary[w >> 5]! & (1 << (w & 31))) !== 0;
      if (summarized !== (this.words[w] !== 0))
        throw new Error(`level bitset: summary bit of word ${w} is wrong`);
    }
  }

  /** The highest set bit at or below `i`, or -1. */
  highestAtOrBelow(i: number): number {
    if (i < 0) return -1;
    const w = i >> 5;
    const word = this.words[w]! & maskUpTo(i & 31);
    if (word !== 0) return (w << 5) + highestBit(word);
    const sw = w - 1;
    if (sw < 0) return -1;
    let s = sw >> 5;
    let bits = this.summary[s]! & maskUpTo(sw & 31);
    while (bits === 0) {
      if (--s < 0) return -1;
      bits = this.summary[s]!;
    }
    const found = (s << 5) + highestBit(bits);
    return (found << 5) + highestBit(this.words[found]!);
  }

  /** The lowest set bit at or above `i`, or -1. */
  lowestAtOrAbove(i: number): number {
    if (i >= this.bits) return -1;
    const w = i >> 5;
    const word = this.words[w]! & (-1 << (i & 31));
    if (word !== 0) return (w << 5) + lowestBit(word);
    const sw = w + 1;
    if (sw >= this.words.length) return -1;
    let s = sw >> 5;
    let bits = this.summary[s]! & (-1 << (sw & 31));
    while (bits === 0) {
      if (++s >= this.summary.length) return -1;
      bits = this.summary[s]!;
    }
    const found = (s << 5) + lowestBit(bits);
    return (found << 5) + lowestBit(this.words[found]!);
  }
}

function maskUpTo(bit: number): number {
  return bit === 31 ? -1 : (1 << (bit + 1)) - 1;
}

function highestBit(word: number): number {
  return 31 - Math.clz32(word);
}

function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}
