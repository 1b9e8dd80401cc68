import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { API_TYPES_FILE, apiTypes } from "../../../scripts/web/api-types";

// The web app's API types are generated and committed: they must be those of the routes as they
// are, or the page could drift from the API. After changing a route, run `npm run web:api`.
it("web/src/api/schema.d.ts is what `npm run web:api` generates from the current routes", async () => {
  expect(readFileSync(API_TYPES_FILE, "utf8") === (await apiTypes())).toBe(true);
}, 30_000);
