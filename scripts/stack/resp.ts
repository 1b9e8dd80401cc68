// Minimal RESP2 (the Redis wire protocol): encode commands, parse replies incrementally.

/** An error reply (`-ERR ...`). Kept as a value: inside EXEC results it is data, not a throw. */
export class RespError extends Error {
  override name = "RespError";
}

/** A status reply (`+OK`), distinct from bulk strings so "OK" can be told apart. */
export class RespStatus {
  constructor(readonly value: string) {}
}

/** Bulk strings stay Buffers: Redis values are bytes, and base64 responses must be exact. */
export type RespValue = RespStatus | RespError | Buffer | number | null | RespValue[];

export type RespArg = string | Buffer | number;

/** Bytes of one piece of encoded commands: a buffer that size is cheap, a 200 KB one is not. */
const PIECE_BYTES = 32 * 1024;
const ARRAY = 0x2a; // *
const BULK = 0x24; // $
const CR = 0x0d;
const LF = 0x0a;

/**
 * Commands as RESP, in pieces of at most PIECE_BYTES (a longer argument is a piece of its own),
 * for one corked write. An EVAL of 500 events is ~200 KB: three small Buffers an argument and a
 * concatenation cost more than the rest of the request.
 */
export function encodeCommands(commands: readonly (readonly RespArg[])[]): Buffer[] {
  const pieces: Buffer[] = [];
  let piece = Buffer.allocUnsafe(PIECE_BYTES);
  let used = 0;
  const flush = () => {
    if (used > 0) pieces.push(piece.subarray(0, used));
    piece = Buffer.allocUnsafe(PIECE_BYTES);
    used = 0;
  };
  const room = (bytes: number) => {
    if (used + bytes > piece.length) flush();
  };
  /** `*3\r\n`, `$5\r\n`: a few bytes, set one by one (a write call each costs more). */
  const header = (type: number, count: number) => {
    const digits = String(count);
    room(digits.length + 3);
    piece[used++] = type;
    for (let i = 0; i < digits.length; i++) piece[used++] = digits.charCodeAt(i);
    piece[used++] = CR;
    piece[used++] = LF;
  };
  for (const args of commands) {
    header(ARRAY, args.length);
    for (const arg of args) {
      const text = Buffer.isBuffer(arg) ? undefined : String(arg);
      const length = text === undefined ? (arg as Buffer).length : Buffer.byteLength(text);
      header(BULK, length);
      if (length > PIECE_BYTES) {
        flush();
        pieces.push(text === undefined ? (arg as Buffer) : Buffer.from(text));
      } else {
        room(length);
        used += text === undefined ? (arg as Buffer).copy(piece, used) : piece.write(text, used);
      }
      room(2);
      piece[used++] = CR;
      piece[used++] = LF;
    }
  }
  if (used > 0) pieces.push(piece.subarray(0, used));
  return pieces;
}

const INCOMPLETE = Symbol("incomplete");
type Parsed = { value: RespValue; end: number } | typeof INCOMPLETE;

function parseAt(buf: Buffer, start: number): Parsed {
  const lineEnd = buf.indexOf("\r\n", start);
  if (lineEnd < 0) return INCOMPLETE;
  const type = String.fromCharCode(buf[start] ?? 0);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: new RespStatus(line), end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return INCOMPLETE;
      return { value: buf.subarray(next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let offset = next;
      for (let i = 0; i < count; i++) {
        const item = parseAt(buf, offset);
        if (item === INCOMPLETE) return INCOMPLETE;
        items.push(item.value);
        offset = item.end;
      }
      return { value: items, end: offset };
    }
    default:
      throw new Error(`RESP protocol error: unexpected type byte ${JSON.stringify(type)}`);
  }
}

/** Accumulates socket chunks and yields every complete reply. */
export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RespValue[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const replies: RespValue[] = [];
    let offset = 0;
    for (;;) {
      const parsed = parseAt(this.buffer, offset);
      if (parsed === INCOMPLETE) break;
      replies.push(parsed.value);
      offset = parsed.end;
      if (offset >= this.buffer.length) break;
    }
    // Copy the remainder: subarray would pin the whole previous chunk in memory.
    this.buffer = offset === 0 ? this.buffer : Buffer.from(this.buffer.subarray(offset));
    return replies;
  }
}
