/**
 * Settled pages after a rollback (docs/ops/deploy.md, step 6):
 *
 *   DATABASE_URL=<Neon, direct> node --import tsx scripts/ops/rollback-settled-pages.ts --redirect
 *   DATABASE_URL=<Neon, direct> node --import tsx scripts/ops/rollback-settled-pages.ts --end
 *
 * `--redirect` after rolling back to a release from 0018 up to (not including) 0021, whose relays
 * never read `event_pages`: its pending pages moved to `event_outbox`, and later ones written
 * there (settled-pages-redirect.ts). Never for a release before 0018: its relays would publish a
 * page row raw (its pages then wait in `event_pages` for a roll-forward). `--end` once a release
 * carrying 0021 serves all traffic again. Both idempotent.
 */
import { parseArgs } from "node:util";
import { openNodeDatabase } from "../lib/node-database";
import { endSettledPagesRedirect, redirectSettledPages } from "./settled-pages-redirect";

const { values } = parseArgs({ options: { redirect: { type: "boolean" }, end: { type: "boolean" } } });
const { DATABASE_URL } = process.env;
if (!DATABASE_URL || values.redirect === values.end) {
  console.error("usage: DATABASE_URL=… rollback-settled-pages.ts --redirect | --end");
  process.exit(2);
}
const { db, pool } = openNodeDatabase(DATABASE_URL, process.env.NEON_WS_PROXY || undefined);
try {
  if (values.redirect) {
    const moved = await db.transaction((tx) => redirectSettledPages(tx));
    console.log(
      `settled pages: ${moved.rows} pending pages (${moved.events} events) moved from event_pages to event_outbox; later pages go there too until --end`,
    );
  } else {
    await db.transaction((tx) => endSettledPagesRedirect(tx));
    console.log("settled pages: written to event_pages again (the redirect is gone)");
  }
} finally {
  await pool.end();
}
