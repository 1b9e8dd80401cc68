import { sql } from "drizzle-orm";
import type { DbExecutor } from "../../src/db/client";
import { RELAY_LOCK_KEY } from "../../src/domain/events/event-outbox";

/**
 * After a rollback to a release from 0018 up to (not including) 0021 (docs/ops/deploy.md):
 * migration 0021 replaced `settle_page` in place, so that release's objects write each settled
 * page to `event_pages`, which its relays never read (they read `event_outbox` only, and expand
 * its page rows: 0018's form, the same as 0021's). Redirects those pages to `event_outbox`:
 * the pending `event_pages` rows moved there as page rows (same id, stream, page, event count,
 * creation time: their ids come from event_outbox's sequence, so the relay reads them in the
 * order their transactions drew them), and a trigger that writes every later page there too.
 *
 * Run it inside one transaction: it takes the relays' advisory lock first, so no relay of any
 * release is halfway through publishing a row it moves (and none starts until it commits), and
 * the rows it moves leave `event_pages` in the same transaction: each moves once, and a second
 * run finds nothing to move. Current relays read both tables and expand page rows in either:
 * the redirect is harmless to them, and `endSettledPagesRedirect` removes it once they serve.
 */
export async function redirectSettledPages(tx: DbExecutor): Promise<{ rows: number; events: number }> {
  const { rows: found } = await tx.execute<{ pages: string | null }>(
    sql`select to_regclass('event_pages')::text as pages, pg_advisory_xact_lock(${RELAY_LOCK_KEY})`,
  );
  // No 0021 yet (its migration failed, or the database is older): pages go to event_outbox.
  if (found[0]?.pages == null) return { rows: 0, events: 0 };
  // The trigger's DDL waits for settle_page's open transactions on event_pages: never long.
  await tx.execute(sql`set local lock_timeout = '5s'`);
  await tx.execute(sql`create or replace function settled_page_to_outbox() returns trigger
    language plpgsql as $$
    begin
      insert into event_outbox (id, stream, envelope, page_events, created_at, attempts, last_error)
      values (new.id, new.stream, new.envelope::jsonb, new.page_events, new.created_at, new.attempts,
        new.last_error);
      return null;
    end $$`);
  await tx.execute(sql`create or replace trigger settled_page_to_outbox before insert on event_pages
    for each row execute function settled_page_to_outbox()`);
  const { rows } = await tx.execute<{ rows: string; events: string | null }>(sql`
    with moved as (
      delete from event_pages where published_at is null
      returning id, stream, envelope, page_events, created_at, attempts, last_error
    ), inserted as (
      insert into event_outbox (id, stream, envelope, page_events, created_at, attempts, last_error)
      select id, stream, envelope::jsonb, page_events, created_at, attempts, last_error from moved order by id
      returning page_events
    )
    select count(*)::text as rows, sum(page_events)::text as events from inserted`);
  return { rows: Number(rows[0]!.rows), events: Number(rows[0]!.events ?? 0) };
}

/** Pages go to `event_pages` again (a release carrying 0021 serves everywhere). Idempotent. */
export async function endSettledPagesRedirect(tx: DbExecutor): Promise<void> {
  await tx.execute(sql`set local lock_timeout = '5s'`);
  await tx.execute(sql`drop trigger if exists settled_page_to_outbox on event_pages`);
  await tx.execute(sql`drop function if exists settled_page_to_outbox()`);
}
