import http from "node:http";
import pg from "pg";
import { sendJson } from "./json-reply";
import { errorMessage, log } from "./log";
import { HOST } from "./ports";

// Neon's HTTP SQL endpoint, served locally from pooled connections to the stack's Postgres.
//
// What the driver (`neon()` of @neondatabase/serverless 1.x) sends: POST to the endpoint with
//   Neon-Connection-String: postgresql://user:password@host/db?application_name=…
//   Neon-Raw-Text-Output: true     every value as Postgres' text form; the driver parses it
//                                  with its own type parsers, by each field's dataTypeID
//   Neon-Array-Mode: true          rows as arrays, in field order
//   Neon-Batch-Isolation-Level / -Read-Only / -Deferrable   for a transaction (batch) only
// and a JSON body: `{query, params}` for one statement, `{queries: [{query, params}, …]}` for a
// non-interactive transaction. Params are strings or null (the driver has already turned dates,
// arrays, objects and bytea into their text forms).
// What it expects back: HTTP 200 with `{command, rowCount, fields, rows, rowAsArray}` (a batch:
// `{results: [one of those per query]}`); HTTP 400 with `{message, code, constraint, detail, …}`
// for a Postgres error (the driver copies those fields onto its NeonDbError, which services
// read, e.g. code 23505 or constraint `balances_non_negative`); any other status is thrown as
// "Server error (HTTP status N): <body text>".

export interface NeonHttpEndpointOptions {
  port: number;
  /** The one Postgres every query runs on; the host and port a connection string names are ignored. */
  target: { host: string; port: number };
  /** Connections per credentials (user, password, database); default 20. */
  poolSize?: number;
}

export interface RunningNeonHttpEndpoint {
  port: number;
  /** For `neonConfig.fetchEndpoint`: http://127.0.0.1:<port>/sql */
  url: string;
  close(): Promise<void>;
}

/** Most distinct credentials served at once (each has its own pool); a new one evicts the oldest. */
const MAX_POOLS = 8;
const MAX_BODY_BYTES = 16 << 20;
/** The fields of a Postgres error that the driver copies onto its NeonDbError. */
const ERROR_FIELDS = [
  "severity", "code", "detail", "hint", "position", "internalPosition", "internalQuery", "where",
  "schema", "table", "column", "dataType", "constraint", "file", "line", "routine",
] as const; // prettier-ignore
const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: "read uncommitted",
  ReadCommitted: "read committed",
  RepeatableRead: "repeatable read",
  Serializable: "serializable",
};

/** Every value in Postgres' text form: the driver parses it, as Neon's raw text output wants. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/** A failure of the request itself, answered with this status and `{message}`. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface QueryData {
  query: string;
  params: unknown[];
}

interface Credentials {
  user: string;
  password: string;
  database: string;
}

export interface QueryResultBody {
  command: string;
  rowCount: number | null;
  fields: pg.FieldDef[];
  rows: (string | null)[][] | Record<string, string | null>[];
  rowAsArray: boolean;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** User, password and database of a `Neon-Connection-String`; host, port and options are not used. */
export function parseConnectionString(raw: string | undefined): Credentials {
  if (!raw) throw new RequestError(400, "missing Neon-Connection-String header");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RequestError(400, "Neon-Connection-String is not a valid URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new RequestError(400, "Neon-Connection-String must be a postgres:// or postgresql:// URL");
  }
  const user = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!user || !database) throw new RequestError(400, "Neon-Connection-String lacks a user or a database");
  return { user, password: decodeURIComponent(url.password), database };
}

function parseQuery(value: unknown): QueryData {
  const item = value as { query?: unknown; params?: unknown } | null;
  if (typeof item !== "object" || item === null || typeof item.query !== "string") {
    throw new RequestError(400, "each query must be an object with a string `query`");
  }
  const params = item.params ?? [];
  if (!Array.isArray(params)) throw new RequestError(400, "`params` must be an array");
  return { query: item.query, params };
}

/** One statement (`{query, params}`) or a batch (`{queries: […]}`). */
export function parseBody(text: string): QueryData | { queries: QueryData[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError(400, "the request body is not JSON");
  }
  const queries = (body as { queries?: unknown } | null)?.queries;
  if (queries === undefined) return parseQuery(body);
  if (!Array.isArray(queries)) throw new RequestError(400, "`queries` must be an array");
  return { queries: queries.map(parseQuery) };
}

/** `BEGIN …` for a batch, from the Neon-Batch-* headers (Neon's names for the levels). */
export function beginStatement(headers: {
  isolationLevel?: string;
  readOnly?: string;
  deferrable?: string;
}): string {
  const parts = ["begin"];
  if (headers.isolationLevel !== undefined) {
    const level = ISOLATION_LEVELS[headers.isolationLevel];
    if (!level) {
      throw new RequestError(400, `unknown Neon-Batch-Isolation-Level: ${headers.isolationLevel}`);
    }
    parts.push(`isolation level ${level}`);
  }
  if (headers.readOnly !== undefined) parts.push(headers.readOnly === "true" ? "read only" : "read write");
  if (headers.deferrable !== undefined)
    parts.push(headers.deferrable === "true" ? "deferrable" : "not deferrable");
  return parts.join(" ");
}

/** The body of one result, as Neon shapes it. */
export function resultBody(result: pg.QueryArrayResult, arrayMode: boolean): QueryResultBody {
  const rows = result.rows as (string | null)[][];
  const names = result.fields.map((f) => f.name);
  return {
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields,
    rows: arrayMode ? rows : rows.map((row) => Object.fromEntries(row.map((v, i) => [names[i], v]))),
    rowAsArray: arrayMode,
  };
}

/** A Postgres error as Neon reports it: the message and every field the server sent. */
export function errorBody(err: Error): Record<string, unknown> {
  const body: Record<string, unknown> = { message: err.message };
  for (const field of ERROR_FIELDS) {
    const value = (err as unknown as Record<string, unknown>)[field];
    if (value !== undefined) body[field] = value;
  }
  return body;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RequestError(413, "request body too large"));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Serves Neon's HTTP SQL protocol on 127.0.0.1 from a small pool of Postgres connections per
 * set of credentials: the Worker's `neon()` queries cost one HTTP request each, with no
 * connection setup. Postgres checks the credentials itself (a wrong password answers 28P01).
 * Each request runs on one pooled connection: a statement in autocommit, a batch between
 * BEGIN and COMMIT (ROLLBACK on the first error).
 */
export function startNeonHttpEndpoint(options: NeonHttpEndpointOptions): Promise<RunningNeonHttpEndpoint> {
  const pools = new Map<string, pg.Pool>();
  /** Connection string → its pool: the driver sends the same string every time. */
  const byConnectionString = new Map<string, pg.Pool>();

  function poolFor(connectionString: string | undefined): pg.Pool {
    const known = connectionString === undefined ? undefined : byConnectionString.get(connectionString);
    if (known) return known;
    const credentials = parseConnectionString(connectionString);
    const key = JSON.stringify([credentials.user, credentials.password, credentials.database]);
    let pool = pools.get(key);
    if (!pool) {
      if (pools.size >= MAX_POOLS) {
        const [oldestKey, oldest] = pools.entries().next().value!;
        pools.delete(oldestKey);
        byConnectionString.clear();
        void oldest.end().catch(() => undefined);
      }
      pool = new pg.Pool({
        ...credentials,
        host: options.target.host,
        port: options.target.port,
        max: options.poolSize ?? 20,
        idleTimeoutMillis: 60_000,
        connectionTimeoutMillis: 10_000,
        application_name: "neon-http-endpoint",
      });
      // An idle connection that dies (Postgres restarted) is dropped from the pool, not fatal.
      pool.on("error", (err) => log(`neon http endpoint: idle connection error: ${errorMessage(err)}`));
      pools.set(key, pool);
    }
    if (byConnectionString.size >= 64) byConnectionString.clear();
    byConnectionString.set(connectionString!, pool);
    return pool;
  }

  async function run(client: pg.Pool | pg.PoolClient, data: QueryData, arrayMode: boolean) {
    // Extended protocol even without params, as Neon: one statement per query, never a script
    // (pg's `queryMode`, which @types/pg does not declare).
    const config: pg.QueryArrayConfig & { queryMode: "extended" } = {
      text: data.query,
      values: data.params,
      rowMode: "array",
      types: RAW_TEXT,
      queryMode: "extended",
    };
    return resultBody(await client.query(config), arrayMode);
  }

  async function batch(pool: pg.Pool, begin: string, queries: QueryData[], arrayMode: boolean) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      try {
        const results: QueryResultBody[] = [];
        for (const query of queries) results.push(await run(client, query, arrayMode));
        await client.query("commit");
        return { results };
      } catch (err) {
        await client.query("rollback").catch((rollbackErr: Error) => (broken = rollbackErr));
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/sql") throw new RequestError(404, "not found: the endpoint is POST /sql");
    if (req.method !== "POST") throw new RequestError(405, "method not allowed: use POST");
    const pool = poolFor(header(req, "neon-connection-string"));
    if (header(req, "neon-raw-text-output") !== "true") {
      // Neon would convert values to JSON types; the driver since 1.0 always asks for raw text.
      throw new RequestError(400, "this local endpoint serves only Neon-Raw-Text-Output: true");
    }
    const arrayMode = header(req, "neon-array-mode") === "true";
    const body = parseBody(await readBody(req));
    if ("queries" in body) {
      const begin = beginStatement({
        isolationLevel: header(req, "neon-batch-isolation-level"),
        readOnly: header(req, "neon-batch-read-only"),
        deferrable: header(req, "neon-batch-deferrable"),
      });
      sendJson(res, 200, await batch(pool, begin, body.queries, arrayMode));
    } else {
      sendJson(res, 200, await run(pool, body, arrayMode));
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof RequestError) {
        sendJson(res, err.status, { message: err.message });
      } else if (err instanceof pg.DatabaseError) {
        sendJson(res, 400, errorBody(err));
      } else {
        // Postgres unreachable, a connection lost mid-query: not a database error.
        const message = `local neon http endpoint: ${errorMessage(err)}`;
        res.writeHead(502, { "Content-Type": "text/plain" });
        res.end(message);
      }
    });
  });
  // Longer than any client's idle timeout, so a reused keep-alive socket is never closed under it.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;

  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`Neon HTTP endpoint: ${errorMessage(err)}`)));
    server.listen(options.port, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      resolve({
        port,
        url: `http://${HOST}:${port}/sql`,
        close: async () => {
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeAllConnections();
          const ending = [...pools.values()].map((pool) => pool.end().catch(() => undefined));
          pools.clear();
          await Promise.all([closed, ...ending]);
        },
      });
    });
  });
}
