import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { seedDemoData } from "../../scripts/lib/seed";
import { startStack } from "../../scripts/stack/start-stack";
import { FREE_PORTS } from "../../scripts/stack/stack-info";

export interface SqlBench {
  /** One connection straight to Postgres (no PgBouncer): the backend whose CPU is read. */
  client: pg.Client;
  /** The traders' ids, each with 10^30 minor units of USDT and BTC available and locked. */
  users: string[];
  /** The backend's CPU so far (/proc schedstat, ns): load leaves it alone. */
  cpuMs(): number;
}

/**
 * A bench of SQL functions alone (bench/trading/*-sql.ts): a private local stack with the
 * migrations and demo data, `traders` funded users, then `run`; the stack is stopped after.
 */
export async function sqlBench(name: string, traders: number, run: (bench: SqlBench) => Promise<void>) {
  const dataDir = mkdtempSync(join(tmpdir(), `pandora-bench-${name}-`));
  const stack = await startStack({ dataDir, ports: FREE_PORTS });
  try {
    const { info } = stack;
    await applyMigrations(info.databaseUrl, info.neonWsProxy);
    const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
    await seedDemoData(db, { adminEmail: "admin@bench.test", adminPassword: "bench admin pass phrase" });
    await pool.end();
    const client = new pg.Client({ connectionString: info.directDatabaseUrl });
    client.on("error", () => {});
    await client.connect();
    const { rows: users } = await client.query<{ id: string }>(
      `INSERT INTO users (email, first_name, last_name, password_hash, kyc_status)
       SELECT $2 || '-' || g || '@bench.test', 'SQL', 'Bench', 'x', 'verified' FROM generate_series(1, $1) g
       RETURNING id`,
      [traders, name],
    );
    await client.query(
      `INSERT INTO balances (user_id, asset, available, locked)
       SELECT u, a, 10::numeric ^ 30, 10::numeric ^ 30 FROM unnest($1::uuid[]) u, unnest(ARRAY['USDT', 'BTC']) a`,
      [users.map((u) => u.id)],
    );
    const { rows: pid } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    // On-CPU time in ns (schedstat), not utime + stime in 10 ms ticks: a call of ~20 ms is
    // then measured, not sampled.
    const cpuMs = () => Number(readFileSync(`/proc/${pid[0]!.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
    await run({ client, users: users.map((u) => u.id), cpuMs });
    await client.end();
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The middle value (the upper one of an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
