import type { Context } from "hono";

/**
 * Sets a header on the response a route already answered, in place (middleware after
 * `next()`). Hono's `c.header()` at that point builds a new Response for every header, so that
 * it also works on a response whose headers are immutable (one passed through from a `fetch`);
 * only such a response takes that path here. Three of these per request were three Responses.
 */
export function setAnsweredHeader(c: Context, name: string, value: string, append = false): void {
  try {
    if (append) c.res.headers.append(name, value);
    else c.res.headers.set(name, value);
  } catch {
    c.header(name, value, { append });
  }
}
