import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface SupervisorOptions {
  dataDir: string;
  ports: { pg: number; pgPooler: number; pgProxy: number; pgHttp: number; redis: number; redisRest: number };
  token: string;
  /** Stop when stdin closes (default). Off for a terminal/background run without a parent. */
  lifeline: boolean;
}

function port(flag: string | undefined, env: string | undefined, fallback: number, name: string): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`invalid port for ${name}: ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Flags win over environment variables, which win over defaults. */
export function readSupervisorOptions(
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): SupervisorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      "data-dir": { type: "string" },
      "pg-port": { type: "string" },
      "pg-pooler-port": { type: "string" },
      "pg-proxy-port": { type: "string" },
      "pg-http-port": { type: "string" },
      "redis-port": { type: "string" },
      "redis-rest-port": { type: "string" },
      token: { type: "string" },
      "no-lifeline": { type: "boolean" },
    },
    strict: true,
  });
  const dataDir = values["data-dir"] ?? env.PANDORA_STACK_DATA_DIR ?? path.join(REPO_ROOT, ".data", "stack");
  return {
    dataDir: path.resolve(dataDir),
    ports: {
      pg: port(values["pg-port"], env.PANDORA_PG_PORT, 55432, "PANDORA_PG_PORT"),
      pgPooler: port(values["pg-pooler-port"], env.PANDORA_PG_POOLER_PORT, 55434, "PANDORA_PG_POOLER_PORT"),
      pgProxy: port(values["pg-proxy-port"], env.PANDORA_PG_PROXY_PORT, 55433, "PANDORA_PG_PROXY_PORT"),
      pgHttp: port(values["pg-http-port"], env.PANDORA_PG_HTTP_PORT, 55435, "PANDORA_PG_HTTP_PORT"),
      redis: port(values["redis-port"], env.PANDORA_REDIS_PORT, 56379, "PANDORA_REDIS_PORT"),
      redisRest: port(
        values["redis-rest-port"],
        env.PANDORA_REDIS_REST_PORT,
        56380,
        "PANDORA_REDIS_REST_PORT",
      ),
    },
    token: values.token ?? (env.PANDORA_REDIS_REST_TOKEN || randomBytes(24).toString("base64url")),
    lifeline: !(values["no-lifeline"] ?? env.PANDORA_STACK_LIFELINE === "0"),
  };
}
