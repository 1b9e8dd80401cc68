import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { errorResponses } from "../http/openapi-schemas";
import { authenticate, requireAdmin } from "../middleware/authenticate";
import { bearerSecurity } from "./user-schemas";

/** The statuses `errorResponses` describes. */
type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;
type ErrorReply = ReturnType<typeof errorResponses>[string];
/** The success replies as given, and any error status in the one error shape (as `errorResponses` types it). */
type Replies<R> = { [K in keyof R | ErrorStatus]: K extends keyof R ? R[K] : ErrorReply };

/** What every route of a group shares. */
interface GroupSpec {
  tags: string[];
  /** `bearerSecurity` for routes behind sign-in; left out for public ones. */
  security?: RouteConfig["security"];
  /**
   * Who may call. A route's own `middleware` REPLACES this list (a read group's route that
   * trades names its trade check), so that list must authenticate as well.
   */
  middleware?: RouteConfig["middleware"];
  /** The error statuses every route of the group answers (the route adds its own). */
  errors?: ErrorStatus[];
}

/** One route: its words, its input, its success replies and the error statuses it adds. */
interface RouteSpec {
  summary: string;
  description?: string;
  middleware?: RouteConfig["middleware"];
  /** Parameters documented but not validated by the router (e.g. `idempotencyKeyParameters`). */
  parameters?: RouteConfig["parameters"];
  request?: RouteConfig["request"];
  /** The success replies by status, e.g. `{ 200: jsonReply("Balances", BalancesSchema) }`. */
  reply: RouteConfig["responses"];
  errors?: ErrorStatus[];
}

/**
 * Declares routes in a few lines each: `group.post(path, { summary, request, reply, errors })`
 * is `createRoute` with the group's tags, security, middleware and error replies filled in, so
 * /openapi.json lists each route exactly as a hand-written `createRoute` would.
 */
export function routeGroup(group: GroupSpec) {
  const { tags, errors: groupErrors = [], ...shared } = group;
  const declare =
    <M extends "get" | "post" | "put" | "patch" | "delete">(method: M) =>
    <P extends string, S extends RouteSpec>(path: P, spec: S) => {
      const { reply, errors = [], ...own } = spec;
      // In the order a hand-written declaration has, which /openapi.json keeps.
      const words: Pick<RouteSpec, "summary" | "description"> = {
        summary: own.summary,
        ...(own.description ? { description: own.description } : {}),
      };
      return createRoute({
        method,
        path,
        tags,
        ...words,
        ...shared,
        ...own,
        responses: { ...reply, ...errorResponses(...groupErrors, ...errors) } as Replies<S["reply"]>,
      });
    };
  return {
    get: declare("get"),
    post: declare("post"),
    put: declare("put"),
    patch: declare("patch"),
    delete: declare("delete"),
  };
}

/** Routes behind sign-in: bearer security, `middleware` as the caller's check, and 401/403/429. */
export const signedInRoutes = (tags: string[], middleware: RouteConfig["middleware"]) =>
  routeGroup({ tags, security: bearerSecurity, middleware, errors: [401, 403, 429] });

/** Routes for admins only (a signed-in session of an admin; never an API key). */
export const adminOnlyRoutes = (tags: string[]) => signedInRoutes(tags, [authenticate(), requireAdmin]);
