import net from "node:net";
import { RespParser, encodeCommands, type RespArg, type RespValue } from "./resp";

interface Waiter {
  resolve(value: RespValue): void;
  reject(err: Error): void;
}

/** One Redis connection; replies come back in command order, so a FIFO of waiters suffices. */
export class RedisConnection {
  private readonly socket: net.Socket;
  private readonly parser = new RespParser();
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(host: string, port: number) {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.ready.catch(() => undefined);
    this.socket.on("data", (chunk) => {
      for (const reply of this.parser.push(chunk)) this.waiters.shift()?.resolve(reply);
    });
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("connection to redis closed")));
  }

  get usable(): boolean {
    return this.failure === undefined && !this.socket.destroyed;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }

  /** Writes all commands in one go (so MULTI..EXEC is never interleaved) and awaits every reply. */
  async send(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    await this.ready;
    if (this.failure) throw this.failure;
    const replies = commands.map(
      () =>
        new Promise<RespValue>((resolve, reject) => {
          this.waiters.push({ resolve, reject });
        }),
    );
    this.socket.cork();
    for (const piece of encodeCommands(commands)) this.socket.write(piece);
    this.socket.uncork();
    return Promise.all(replies);
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A small pool: each request borrows its own connection, so a blocking command (BLPOP,
 * XREAD BLOCK) or a transaction never stalls or mixes with other requests.
 */
export class RedisPool {
  private readonly idle: RedisConnection[] = [];
  private readonly all = new Set<RedisConnection>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxIdle = 16,
  ) {}

  async run(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    let conn = this.idle.pop();
    while (conn && !conn.usable) {
      this.all.delete(conn);
      conn = this.idle.pop();
    }
    conn ??= this.open();
    try {
      return await conn.send(commands);
    } finally {
      if (conn.usable && this.idle.length < this.maxIdle) this.idle.push(conn);
      else this.discard(conn);
    }
  }

  private open(): RedisConnection {
    const conn = new RedisConnection(this.host, this.port);
    this.all.add(conn);
    return conn;
  }

  private discard(conn: RedisConnection): void {
    conn.close();
    this.all.delete(conn);
  }

  close(): void {
    for (const conn of this.all) conn.close();
    this.all.clear();
    this.idle.length = 0;
  }
}
