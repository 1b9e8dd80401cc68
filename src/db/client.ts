import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";

/**
 * Without a `schema`: the relational query API (`db.query.*`) is not used, and building its
 * config walks every table and index on each `drizzle()` call, i.e. on every request.
 */
export type Database = ReturnType<typeof drizzle>;

export interface DatabaseConfig {
  DATABASE_URL: string;
  /** Set only locally: host:port/path of the loopback WebSocket-to-TCP proxy. */
  NEON_WS_PROXY?: string;
}

/**
 * Points the Neon driver at the local proxy when one is configured. In the cloud the
 * driver speaks TLS WebSockets to Neon directly and none of this applies.
 */
export function configureNeon(wsProxy: string | undefined): void {
  if (!wsProxy) return;
  neonConfig.wsProxy = () => wsProxy;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  // Startup and password in one write, as against Neon: the local stack asks for a plain
  // password (PgBouncer `auth_type = plain`, Postgres `password`), which is what this expects.
  neonConfig.pipelineConnect = "password";
}

/**
 * A Pool for one request. workerd forbids reusing I/O objects across requests, so a
 * module-level Pool fails on the second request; the caller ends it with `waitUntil`.
 */
export function openDatabase(config: DatabaseConfig): { db: Database; pool: Pool } {
  configureNeon(config.NEON_WS_PROXY);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 5 });
  // `end()` makes the socket report "Network connection lost."; nothing is waiting on it.
  pool.on("error", () => {});
  return { db: drizzle({ client: pool }), pool };
}

/** A transaction handle, accepted wherever a query may run inside the caller's transaction. */
export type DbTransaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbExecutor = Database | DbTransaction;

/** Runs `fn` with a Pool of its own (outside a request: cron jobs, background relays). */
export async function withDatabase<T>(config: DatabaseConfig, fn: (db: Database) => Promise<T>): Promise<T> {
  const { db, pool } = openDatabase(config);
  try {
    return await fn(db);
  } finally {
    await pool.end().catch(() => {});
  }
}
