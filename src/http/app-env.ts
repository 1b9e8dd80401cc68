import type { Logger } from "../lib/logger";
import type { Credentials, Resolved } from "../middleware/authenticate";
import type { TraceContext } from "../lib/trace-context";
import type { Principal } from "./principal";

/** Per-request values every handler can read with `c.get(...)`. */
export interface RequestVariables {
  requestId: string;
  log: Logger;
  trace: TraceContext;
  /** Set by the authentication middleware on protected routes. */
  principal: Principal;
  /** The principal and the user as the API shows it (`authenticatedUser`), on protected routes. */
  auth?: Resolved;
  /** The request's credentials as parsed once (authenticate.ts). */
  credentials?: Credentials;
}

/** The Hono environment of this Worker: typed bindings (see worker-configuration.d.ts) and variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestVariables;
}
