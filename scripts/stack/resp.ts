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

export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
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
