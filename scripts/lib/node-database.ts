import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import ws from "ws";
import * as schema from "../../src/db/schema";
import { configureNeon } from "../../src/db/client";

/**
 * The Worker's own driver path (@neondatabase/serverless Pool) from Node: against Neon from
 * DATABASE_URL alone, or against the local stack through its WebSocket proxy. `lockTimeout`
 * (e.g. "2s") bounds every lock wait of the pool's sessions: a startup option, so it holds for
 * those connections only (the local stack's PgBouncer ignores startup options: no bound there).
 */
export function openNodeDatabase(
  databaseUrl: string,
  wsProxy?: string,
  { lockTimeout }: { lockTimeout?: string } = {},
) {
  neonConfig.webSocketConstructor = ws;
  if (wsProxy) {
    configureNeon(wsProxy);
    neonConfig.coalesceWrites = false;
  }
  const pool = new Pool({
    connectionString: databaseUrl,
    max: 4,
    ...(lockTimeout ? { options: `-c lock_timeout=${lockTimeout}` } : {}),
  });
  pool.on("error", () => {});
  return { db: drizzle({ client: pool, schema }), pool };
}
