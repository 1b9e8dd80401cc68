import { Pool, neon, neonConfig } from "@neondatabase/serverless";
import { entityKind, type SQL } from "drizzle-orm";
import type { WithCacheConfig } from "drizzle-orm/cache/core/types";
import { NeonHttpDriver, type NeonHttpSession } from "drizzle-orm/neon-http";
import {
  NeonDatabase,
  NeonSession,
  drizzle,
  type NeonQueryResultHKT,
  type NeonTransaction,
} from "drizzle-orm/neon-serverless";
import {
  PgDialect,
  PgSession,
  type PgTransactionConfig,
  type PreparedQueryConfig,
  type SelectedFieldsOrdered,
} from "drizzle-orm/pg-core";
import type { Query } from "drizzle-orm/sql/sql";
import { postgresDuration, postgresErrors } from "../lib/metrics/worker-metrics";
import { isPoolerUrl } from "./neon-hosts";

/**
 * What services see: drizzle over the Neon driver, with interactive transactions (what
 * `ReturnType<typeof drizzle>` gives, minus `$client`, which nothing uses). Built without a
 * `schema`: the relational query API (`db.query.*`) is not used, and building its config walks
 * every table and index on each construction, i.e. on every request.
 */
export type Database = NeonDatabase<Record<string, unknown>>;

export interface DatabaseConfig {
  /** Pooled (Neon's `-pooler` endpoint): what each request's short-lived connections use. */
  DATABASE_URL: string;
  /**
   * Direct (Neon's endpoint without `-pooler`), optional: the connections a market object keeps
   * open for its lifetime (funds locks, settlement) skip the pooler's hop, as Neon advises for
   * long-lived connections. Unset: they use DATABASE_URL.
   */
  DATABASE_URL_DIRECT?: string;
  /** Set only locally: host:port/path of the loopback WebSocket-to-TCP proxy. */
  NEON_WS_PROXY?: string;
  /** Set only locally: URL of the loopback server of Neon's HTTP SQL protocol (…/sql). */
  NEON_FETCH_ENDPOINT?: string;
}

let configured: string | undefined;

/**
 * Points the Neon driver at the local stack when it is configured: the WebSocket proxy for
 * Pools, the HTTP endpoint for `neon()` queries. In the cloud the driver speaks TLS WebSockets
 * and HTTPS to Neon directly and none of this applies.
 */
export function configureNeon(wsProxy: string | undefined, fetchEndpoint?: string): void {
  // Once per isolate and setting: it runs for every request's database.
  const setting = `${wsProxy} ${fetchEndpoint}`;
  if (setting === configured) return;
  configured = setting;
  neonConfig.fetchFunction = timedFetch;
  if (fetchEndpoint) neonConfig.fetchEndpoint = fetchEndpoint;
  if (!wsProxy) return;
  // A string: the driver appends `?address=<host>:<port>`, by which the local proxy tells a
  // direct connection from a pooled one, as Neon's hosts do.
  neonConfig.wsProxy = wsProxy;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  // Startup and password in one write, as against Neon: the local stack asks for a plain
  // password (PgBouncer `auth_type = plain`, Postgres `password`), which is what this expects.
  neonConfig.pipelineConnect = "password";
}

const pgDuration = postgresDuration.series();
const pgErrors = postgresErrors.series();

/**
 * Every HTTP query's round trip, timed for the metrics: a failure to reach Postgres or a 5xx
 * counts as an error (a 4xx is a statement Postgres refused, which callers handle).
 */
async function timedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const started = performance.now();
  try {
    const res = await fetch(input, init);
    if (res.status >= 500) pgErrors.inc();
    return res;
  } catch (err) {
    pgErrors.inc();
    throw err;
  } finally {
    pgDuration.observe((performance.now() - started) / 1000);
  }
}

/** The connection string of a connection kept past one request: the direct one when configured. */
export function keptConnectionUrl(config: DatabaseConfig): string {
  // Blank counts as unset, as the production secrets check reads it.
  return config.DATABASE_URL_DIRECT?.trim() || config.DATABASE_URL;
}

/**
 * Whether the kept connections go straight to Postgres: a direct URL is set and names no pooled
 * host. Only then may statements be pipelined (docs/decisions/0023): a pooler in transaction mode
 * can hand a statement written while another is out to another server connection.
 */
export function keptConnectionDirect(config: DatabaseConfig): boolean {
  const direct = config.DATABASE_URL_DIRECT?.trim();
  return !!direct && direct !== config.DATABASE_URL && !isPoolerUrl(direct);
}

function newPool(config: DatabaseConfig, connectionString = config.DATABASE_URL): Pool {
  configureNeon(config.NEON_WS_PROXY, config.NEON_FETCH_ENDPOINT);
  const pool = new Pool({ connectionString, max: 5 });
  // `end()` makes the socket report "Network connection lost."; nothing is waiting on it.
  pool.on("error", () => {});
  return pool;
}

/**
 * A Pool-backed database: every query and transaction over WebSockets. For a holder whose
 * connections may outlive one request (a Durable Object keeps its settler's), so over the direct
 * connection when there is one (`keptConnectionUrl`); the caller ends the Pool. workerd forbids
 * reusing a request's I/O objects in another request, so a Worker must never keep one in module
 * scope.
 */
export function openDatabase(config: DatabaseConfig): { db: Database; pool: Pool } {
  const pool = newPool(config, keptConnectionUrl(config));
  return { db: drizzle({ client: pool }), pool };
}

/** Builds Neon's HTTP sessions once per connection string: they hold no I/O (each query is a fetch). */
const httpSessions = new Map<string, NeonHttpSession<Record<string, never>, Record<string, never>>>();
const dialect = new PgDialect();

function httpSession(databaseUrl: string): NeonHttpSession<Record<string, never>, Record<string, never>> {
  let session = httpSessions.get(databaseUrl);
  if (!session) {
    // drizzle's own neon-http path: its driver also makes the driver hand timestamps, dates
    // and intervals to drizzle as text, as the Pool path's per-query parsers already do.
    session = new NeonHttpDriver(neon(databaseUrl), dialect).createSession(undefined) as NeonHttpSession<
      Record<string, never>,
      Record<string, never>
    >;
    httpSessions.set(databaseUrl, session);
  }
  return session;
}

/** drizzle's session over a Pool (what `drizzle({ client: pool })` builds), for transactions. */
function poolSession(pool: Pool): NeonSession<Record<string, never>, Record<string, never>> {
  return new NeonSession(pool, dialect, undefined);
}

/**
 * Plain queries over Neon's HTTP endpoint, transactions over a Pool opened on the first
 * `transaction()` call.
 *
 * Why: a Worker cannot keep a connection between requests, and opening a Pool (WebSocket,
 * Postgres startup, password) costs several round trips before the first query, and CPU in the
 * Worker; an HTTP query is one round trip with nothing to open. Measured: about a fifth less CPU
 * per one-query read and ~60% more of them per second (scripts/stack/README.md, "Neon over HTTP",
 * also for why not the driver's global `poolQueryViaFetch`). Interactive transactions need one
 * connection for several round trips, which only the Pool gives, so a request that runs one
 * pays for its Pool as before; one that does not never opens it.
 *
 * Plain queries run in autocommit, each possibly on another backend: nothing may rely on
 * session state between them (as under the pooler's transaction mode already). A raw result
 * (`execute`, a write without `returning`) has the same `rows`, `rowCount`, `command` and
 * `fields` as the Pool's, but no `oid`. Errors carry Postgres' `code`, `constraint`, `detail`…
 * on the `cause` of drizzle's error, as with the Pool.
 */
class HttpFirstSession extends PgSession<NeonQueryResultHKT> {
  static override readonly [entityKind]: string = "PandoraHttpFirstSession";
  private pool?: Pool;
  private pooled?: NeonSession<Record<string, never>, Record<string, never>>;
  private closed = false;

  constructor(
    readonly http: NeonHttpSession<Record<string, never>, Record<string, never>>,
    private readonly openPool: () => Pool,
  ) {
    super(dialect);
  }

  prepareQuery<T extends PreparedQueryConfig = PreparedQueryConfig>(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    name: string | undefined,
    isResponseInArrayMode: boolean,
    customResultMapper?: (rows: unknown[][]) => T["execute"],
    queryMetadata?: { type: "select" | "update" | "delete" | "insert"; tables: string[] },
    cacheConfig?: WithCacheConfig,
  ) {
    return this.http.prepareQuery<T>(
      query,
      fields,
      name,
      isResponseInArrayMode,
      customResultMapper,
      queryMetadata,
      cacheConfig,
    );
  }

  /** The HTTP session's: its raw results keep rows under `rows`, as the Pool's do. */
  override count(sql: SQL): Promise<number> {
    return this.http.count(sql);
  }

  async transaction<T>(
    transaction: (tx: NeonTransaction<Record<string, never>, Record<string, never>>) => Promise<T>,
    config?: PgTransactionConfig,
  ): Promise<T> {
    if (this.closed) {
      // Work after `close()` (e.g. in a waitUntil) gets a Pool for this transaction alone.
      const pool = this.openPool();
      try {
        return await poolSession(pool).transaction(transaction, config);
      } finally {
        await pool.end().catch(() => {});
      }
    }
    if (!this.pooled) {
      this.pool = this.openPool();
      this.pooled = poolSession(this.pool);
    }
    return this.pooled.transaction(transaction, config);
  }

  /** Ends the Pool if a transaction opened one; HTTP queries hold nothing open (null). */
  close(): Promise<void> | null {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    this.pooled = undefined;
    return pool ? pool.end().catch(() => {}) : null;
  }
}

/**
 * Prepared plain queries, per HTTP session (one per connection string) and shape. They hold
 * Neon's `neon()` query function, which keeps no I/O object (each query is its own fetch), so
 * they may outlive the request that built them.
 */
const preparedQueries = new WeakMap<object, Map<string, unknown>>();

/**
 * A query drizzle builds once per isolate and runs with each request's values through
 * `sql.placeholder(...)`: building the same SQL from the query builder on every request was a
 * tenth of the CPU of a one-query read (`npm run bench:trading`'s profile). `shape` must name everything
 * `build` reads besides placeholders (which filters are present, constant lists): a value
 * captured by `build` would be reused for the next request. Inside a transaction or over a Pool
 * (whose prepared queries hold its connection) it is built each time.
 */
export function reusedQuery<Q>(db: DbExecutor, shape: string, build: (db: DbExecutor) => Q): Q {
  const session: unknown = db._.session;
  if (!(session instanceof HttpFirstSession)) return build(db);
  let queries = preparedQueries.get(session.http);
  if (!queries) preparedQueries.set(session.http, (queries = new Map()));
  let query = queries.get(shape) as Q | undefined;
  if (!query) queries.set(shape, (query = build(db)));
  return query;
}

export interface RequestDatabase {
  db: Database;
  /**
   * Ends what the unit of work opened (its Pool, if it ran a transaction): the promise to wait
   * for, which never rejects, or null when nothing was open.
   */
  close(): Promise<void> | null;
}

/**
 * The database for one request or one job: plain queries over HTTP, a Pool only once a
 * transaction needs it (see HttpFirstSession). The caller calls `close()` when done; for a
 * request, after the response with `waitUntil`.
 */
export function openRequestDatabase(config: DatabaseConfig): RequestDatabase {
  configureNeon(config.NEON_WS_PROXY, config.NEON_FETCH_ENDPOINT);
  const session = new HttpFirstSession(httpSession(config.DATABASE_URL), () => newPool(config));
  return { db: new NeonDatabase(dialect, session, undefined), close: () => session.close() };
}

/** A transaction handle, accepted wherever a query may run inside the caller's transaction. */
export type DbTransaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbExecutor = Database | DbTransaction;

/** Runs `fn` with a database of its own (outside a request: cron jobs, background relays, RPC). */
export async function withDatabase<T>(config: DatabaseConfig, fn: (db: Database) => Promise<T>): Promise<T> {
  const { db, close } = openRequestDatabase(config);
  try {
    return await fn(db);
  } finally {
    await close();
  }
}
