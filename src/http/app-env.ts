import type { Logger } from "../lib/logger";
import type { TraceContext } from "../lib/trace-context";

/** Per-request values every handler can read with `c.get(...)`. */
export interface RequestVariables {
  requestId: string;
  log: Logger;
  trace: TraceContext;
}

/** The Hono environment of this Worker: typed bindings (see worker-configuration.d.ts) and variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestVariables;
}
