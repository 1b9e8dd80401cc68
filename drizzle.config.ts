import { defineConfig } from "drizzle-kit";

// `npm run db:generate` diffs src/db/schema against migrations/ offline; applying them is
// `npm run db:migrate` (scripts/db-migrate.ts), which uses the same Neon driver as the Worker.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./migrations",
  casing: "snake_case",
});
