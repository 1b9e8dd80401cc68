import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { errorResponse } from "../http/error-response";
import { ErrorCode } from "../lib/errors";

/**
 * C0 controls but tab, line feed and carriage return; DEL; C1 controls. Postgres refuses NUL in
 * text (a 500 where a 4xx belongs), and the others have no place in any field of this API.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** A JSON text can hold a control character only as a `\u` escape (raw ones are invalid JSON). */
const ESCAPED_CONTROL = /\\u00(?:[01][0-9a-f]|7f|[89][0-9a-f])/i;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The path of the first string (key or value) holding a control character, or null. */
function controlPath(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === "string") return CONTROL.test(value) ? path : null;
  if (typeof value !== "object" || value === null) return null;
  for (const [key, item] of Object.entries(value)) {
    if (CONTROL.test(key)) return [...path, key];
    const found = controlPath(item, [...path, key]);
    if (found) return found;
  }
  return null;
}

/** Why the URL's path or query is refused, or null. */
function refuseEncodedControls(href: string): string | null {
  const url = new URL(href);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return "The path is not valid percent-encoded UTF-8";
  }
  if (CONTROL.test(path) || [...url.searchParams].some(([k, v]) => CONTROL.test(k) || CONTROL.test(v))) {
    return "The path or query contains control characters";
  }
  return null;
}

/**
 * Refuses control characters anywhere in the request before a route sees it: in the path or
 * the query (400), in any string of a JSON body (422, naming the field). A body that is not JSON
 * passes on, for the route's validator to answer MALFORMED_JSON.
 */
export const refuseControlCharacters: MiddlewareHandler<AppEnv> = async (c, next) => {
  // A parsed URL holds control characters only percent-encoded (the URL parser encodes or
  // strips raw ones), so a URL without "%" needs no decoding.
  if (c.req.url.includes("%")) {
    const refused = refuseEncodedControls(c.req.url);
    if (refused) return errorResponse(c, 400, ErrorCode.BAD_REQUEST, refused);
  }
  if (JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    const text = await c.req.text();
    if (ESCAPED_CONTROL.test(text)) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return next();
      }
      const field = controlPath(body);
      if (field) {
        const at = field.join(".");
        return errorResponse(c, 422, ErrorCode.VALIDATION_FAILED, "The request body is invalid", {
          issues: [{ path: at, message: "must not contain control characters", code: "invalid_format" }],
        });
      }
    }
  }
  return next();
};
