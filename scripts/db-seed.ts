// `npm run db:seed`: demo assets, markets and the admin account (ADMIN_EMAIL / ADMIN_PASSWORD).
import { readDevVars } from "./lib/dev-vars";
import { openNodeDatabase } from "./lib/node-database";
import { seedDemoData } from "./lib/seed";

const vars = { ...readDevVars(".dev.vars"), ...process.env } as Record<string, string | undefined>;
if (!vars.DATABASE_URL || !vars.ADMIN_EMAIL || !vars.ADMIN_PASSWORD) {
  console.error("db:seed: set DATABASE_URL, ADMIN_EMAIL and ADMIN_PASSWORD (or run `npm run dev` once)");
  process.exit(1);
}
const { db, pool } = openNodeDatabase(vars.DATABASE_URL, vars.NEON_WS_PROXY || undefined);
try {
  const { adminCreated } = await seedDemoData(db, {
    adminEmail: vars.ADMIN_EMAIL,
    adminPassword: vars.ADMIN_PASSWORD,
  });
  console.log(
    `db:seed: assets and markets ready; admin ${vars.ADMIN_EMAIL} ${adminCreated ? "created" : "already present"}`,
  );
} finally {
  await pool.end();
}
