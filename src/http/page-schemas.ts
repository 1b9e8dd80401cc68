import { z } from "@hono/zod-openapi";
import { errorResponses } from "./openapi-schemas";

/**
 * The two shapes of a listing, declared once: cursor pages (`{ [key]: items, next_cursor }`,
 * for histories that grow while they are read) and numbered pages (`{ [key]: items, page,
 * page_size, total }`, for admin searches that show a count).
 */

/** `cursor` (opaque, from the previous page's `next_cursor`) and `limit` of a cursor listing. */
export const CursorPageQuery = {
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
};

/** A cursor page: `{ [key]: items, next_cursor }`. */
export function cursorPage<K extends string, S extends z.ZodType>(key: K, item: S) {
  return z.object({ [key]: z.array(item), next_cursor: z.string().nullable() } as Record<K, z.ZodArray<S>> & {
    next_cursor: z.ZodNullable<z.ZodString>;
  });
}

/** `page` (from 1) and `page_size` of a numbered listing. */
export const NumberedPageQuery = {
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
};

const PageCounts = { page: z.number().int(), page_size: z.number().int(), total: z.number().int() };

/** A numbered page: `{ [key]: items, page, page_size, total }`. */
export function numberedPage<K extends string, S extends z.ZodType>(key: K, item: S) {
  return z.object({ [key]: z.array(item), ...PageCounts } as Record<K, z.ZodArray<S>> & typeof PageCounts);
}

/** The `responses` of a listing route readable by any signed-in caller: the page, or the usual errors. */
export function pageResponses<T extends z.ZodType>(description: string, page: T) {
  return {
    200: { description, content: { "application/json": { schema: page } } },
    ...errorResponses(400, 401, 403, 429),
  };
}
