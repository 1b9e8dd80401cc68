// The supervisor's stdout protocol, shared by the supervisor and its parents. No runtime deps.

/** `PANDORA_STACK_READY {json}`: printed once, when every service answers. */
export const READY_PREFIX = "PANDORA_STACK_READY ";
/** `PANDORA_STACK_OK <what>` / `PANDORA_STACK_ERR <why>`: answers to stdin commands. */
export const OK_PREFIX = "PANDORA_STACK_OK ";
export const ERR_PREFIX = "PANDORA_STACK_ERR ";

/** Commands a parent may write to the supervisor's stdin, one per line. */
export type StackCommand = "stop redis" | "start redis";

export interface StackInfo {
  /**
   * postgres://pandora:pandora@127.0.0.1:<pgPoolerPort>/pandora: pooled, as Neon's pooled
   * endpoint (through the WebSocket proxy: PgBouncer; <pgPort> when pgbouncer is missing).
   */
  databaseUrl: string;
  /** postgres://pandora:pandora@127.0.0.1:<pgPort>/pandora: Postgres itself, as Neon's direct endpoint. */
  directDatabaseUrl: string;
  /** For `neonConfig.wsProxy = neonWsProxy`: "127.0.0.1:<proxyPort>/v2" */
  neonWsProxy: string;
  /** For `neonConfig.fetchEndpoint` (what `neon()` queries): "http://127.0.0.1:<httpPort>/sql" */
  neonFetchEndpoint: string;
  /** Upstash REST URL of the shim: http://127.0.0.1:<restPort> */
  redisRestUrl: string;
  redisRestToken: string;
  redisPort: number;
  pgPort: number;
  pgProxyPort: number;
  /** Neon's HTTP SQL endpoint (one request per query or batch, pooled connections to Postgres). */
  pgHttpPort: number;
  /** PgBouncer between the proxy and Postgres; 0 when pgbouncer is not installed. */
  pgPoolerPort: number;
  redisRestPort: number;
  dataDir: string;
  pids: { supervisor: number; postgres: number; redis: number; pooler: number };
}

export interface StackPorts {
  /** Postgres (default 55432); 0 picks a free port. */
  pg?: number;
  /** PgBouncer in transaction mode (default 55434). */
  pgPooler?: number;
  /** Neon WebSocket proxy (default 55433). */
  pgProxy?: number;
  /** Neon HTTP SQL endpoint (default 55435). */
  pgHttp?: number;
  /** redis-server (default 56379). */
  redis?: number;
  /** Upstash REST shim (default 56380). */
  redisRest?: number;
}

/** Every port picked free at start: what tests and benchmarks ask for, so stacks never collide. */
export const FREE_PORTS: Required<StackPorts> = {
  pg: 0,
  pgPooler: 0,
  pgProxy: 0,
  pgHttp: 0,
  redis: 0,
  redisRest: 0,
};
