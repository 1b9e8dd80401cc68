import { Client, type Connection, type QueryResult } from "@neondatabase/serverless";

/** What node-postgres's Query (the Client's class for one statement, absent from the driver's types) offers. */
interface PgQuery {
  name?: string;
  callback?: (err: Error | null, result?: QueryResult) => void;
  submit(connection: Connection): Error | null;
  handleError(err: Error, connection: Connection): void;
}

const PgQuery = (Client as unknown as { Query: new (config: object, values?: unknown[]) => PgQuery }).Query;

/** The Connection's one way out to its socket: every message of a statement goes through it. */
interface Sending {
  _send(bytes: Uint8Array): boolean;
}

/**
 * One statement on the lock line (./lock-line.ts): node-postgres's own Query (its answer read
 * and parsed by the Client, which hands each message to the statement at the head of its queue),
 * but its messages built up front as ONE frame (Parse, Bind, Describe, Execute, Sync: five
 * WebSocket messages when written one by one, writes not being coalesced on this socket) and
 * written once: by the line as soon as it is asked (pipelined, on a direct connection) or, if
 * the line has not, by the Client when the statement before it is answered (`submit`).
 *
 * A statement that cannot be built (values the driver cannot serialise) throws from the
 * constructor, before anything is queued or written: a statement written in part, or queued with
 * nothing written, would make the Client hand the next statement's answer to it.
 */
export class LineStatement extends PgQuery {
  private bytes?: Uint8Array;
  /** Set while the constructor builds the messages: an error then is the build's own. */
  private building?: { failed?: Error };

  constructor(config: object, values: unknown[] | undefined, connection: Connection) {
    super(config, values);
    // Named statements are parsed once per connection, known only when the Parse is answered:
    // two written before that would both parse it.
    if (this.name) throw new Error("the lock line runs unnamed statements only");
    const frames: Uint8Array[] = [];
    const sending = connection as unknown as Sending;
    sending._send = (bytes) => frames.push(bytes) > 0;
    const building: { failed?: Error } = {};
    this.building = building;
    try {
      const refused = super.submit(connection);
      if (refused) building.failed ??= refused;
    } finally {
      delete (sending as Partial<Sending>)._send; // the Connection's own again
      this.building = undefined;
    }
    if (building.failed) throw building.failed;
    this.bytes = concat(frames);
  }

  /** Writes the statement on `connection` unless it was already. */
  write(connection: Connection): void {
    const bytes = this.bytes;
    if (!bytes) return;
    this.bytes = undefined;
    (connection as unknown as Sending)._send(bytes);
  }

  /** The Client's turn for this statement: written already when pipelined. */
  override submit(connection: Connection): Error | null {
    this.write(connection);
    return null;
  }

  /** While built, a Bind the driver could not serialise is kept here and thrown by the constructor. */
  override handleError(err: Error, connection: Connection): void {
    if (this.building) this.building.failed ??= err;
    else super.handleError(err, connection);
  }
}

function concat(frames: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    bytes.set(f, at);
    at += f.length;
  }
  return bytes;
}
