import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { MemoRouter } from "./memo-router";
import { validationHook } from "./validation-hook";

/** Every router of the app shares the validation hook, so all 400/422s look the same. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/**
 * The app's own router, which every request is matched against (the others' routes are copied
 * into it by `app.route`): its matches are kept per (method, path) (see MemoRouter).
 */
export function createAppRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook, router: new MemoRouter() });
}
