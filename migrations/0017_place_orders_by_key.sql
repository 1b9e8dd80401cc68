-- place_orders (0015) again, with every read of a large table a probe by key, whatever the
-- planner believes about the table, and per-order amounts in the lock entry. Why: plpgsql
-- caches its plans per connection, and 0015's were made for the tables as they were when the
-- connection first ran them. A young orders table made "a known id" and "a known
-- client_order_id" a hash over the whole table (a join, and EXISTS turned into a hashed
-- subplan), so each call read every order: ~40 ms a call at 30,000 orders, and even a plan made
-- on a large table hashed it (the planner takes the batch for 100 rows). Now:
-- - `enable_seqscan = off` and `enable_mergejoin = off` for the function: with the statements
--   below, the only plan left for orders and balances is an index probe per key (a scalar
--   subquery or LATERAL ... LIMIT 1 is never turned into a join or a hashed subplan, and without
--   a merge join no plan wants a whole index in order);
-- - `plan_cache_mode = force_generic_plan`: probes plan the same whatever the batch, so a
--   connection plans each statement once instead of five times;
-- - the balance rows are locked and read in the statement that finds the users needing the
--   sequential decision (one statement fewer per call);
-- - the ledger sequences are named (pg_get_serial_sequence looked each up per balance row);
-- - F3 of the 2026-12-06 review: the lock entry's metadata lists `{id, amount}` per order it
--   locks for (`{"orders": [{"id", "amount"}]}`), so the entry alone splits into its orders.
-- And less written per order (each order row and its audit row are most of a call's cost):
-- - no foreign keys from orders to markets and assets: each was a trigger, a lookup and a row
--   lock per order, on the market's row and two asset rows that every flush and every settled
--   trade lock too. place_orders is the one writer of orders: it refuses a call that names an
--   unknown market (checked once per call), or a row whose user or lock asset is not its
--   lock's; a locked placement has a balance row for that user and asset, and balances
--   reference users and assets. The user's foreign key stays;
-- - no orders_market_status_idx: no query reads it (the reconciliation's open orders of a
--   market walk orders_user_open_idx, whose predicate it spells);
-- - orders_user_client_order_id_key only for orders that have a client id (the same
--   uniqueness; most orders have none), audit_logs_action_idx without order placements (a
--   search for them walks audit_logs_occurred_idx, where nearly every row is one). An order's
--   updates are never HOT (status is indexed), so each index entry saved is saved again at
--   every status change settlement makes.
-- What it decides and writes is otherwise unchanged (see 0015 and 0005 for the contract).
ALTER TABLE "orders" DROP CONSTRAINT "orders_market_markets_symbol_fk";--> statement-breakpoint
ALTER TABLE "orders" DROP CONSTRAINT "orders_lock_asset_assets_code_fk";--> statement-breakpoint
DROP INDEX "orders_market_status_idx";--> statement-breakpoint
DROP INDEX "orders_user_client_order_id_key";--> statement-breakpoint
CREATE UNIQUE INDEX "orders_user_client_order_id_key" ON "orders" USING btree ("user_id","client_order_id") WHERE "orders"."client_order_id" is not null;--> statement-breakpoint
DROP INDEX "audit_logs_action_idx";--> statement-breakpoint
CREATE INDEX "audit_logs_action_idx" ON "audit_logs" USING btree ("action","occurred_at") WHERE "audit_logs"."action" <> 'order.place';--> statement-breakpoint
CREATE OR REPLACE FUNCTION place_orders(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  slow_users uuid[];
  slow jsonb := '{}';
  q record;
  cur_user uuid;
  cur_key text;
  seen_ids text[];
  seen_coids text[];
  seen_coid_ids text[];
  avail numeric;
  stray text;
  created timestamptz := now();
  result jsonb;
BEGIN
  -- Lock the balance rows involved, in (user, asset) order as every ledger entry does, and find
  -- the users whose placements need 0005's sequential decision: a row the flush could overdraw,
  -- or an id or client_order_id twice among their placements. And what the dropped foreign keys
  -- checked per order, once per call: the rows' market exists, and each row's user and lock
  -- asset are its lock's (whose balance row references both).
  WITH e AS (
    SELECT (e->'lock'->>'user_id')::uuid AS uid, e->'lock'->>'asset' AS asset, e->'rows'->0->>'id' AS id,
      e->'rows'->0->>'client_order_id' AS coid, (e->'lock'->>'amount')::numeric AS amount,
      e->'lock' AS lock, e->'rows' AS rows
    FROM jsonb_array_elements(batch) e
  ), r AS (
    SELECT e.lock, r FROM e, jsonb_array_elements(e.rows) r
  )
  SELECT
    (SELECT coalesce(array_agg(DISTINCT s.uid), '{}') FROM (
      SELECT k.uid FROM (
        SELECT e.uid, e.asset, sum(e.amount) FILTER (WHERE e.amount > 0) AS total
        FROM e GROUP BY e.uid, e.asset ORDER BY e.uid, e.asset
      ) k LEFT JOIN LATERAL (
        SELECT b.available FROM balances b WHERE b.user_id = k.uid AND b.asset = k.asset FOR UPDATE
      ) b ON true
      WHERE k.total > coalesce(b.available, 0)
      UNION ALL
      SELECT e.uid FROM e GROUP BY e.uid, e.id HAVING count(*) > 1
      UNION ALL
      SELECT e.uid FROM e WHERE e.coid IS NOT NULL GROUP BY e.uid, e.coid HAVING count(*) > 1
    ) s),
    coalesce(
      (SELECT 'a row of user ' || (r.r->>'user_id') || ' locks ' || (r.r->>'lock_asset') || ' under a lock of '
          || (r.lock->>'user_id') || ' in ' || (r.lock->>'asset')
        FROM r WHERE r.r->>'user_id' IS DISTINCT FROM r.lock->>'user_id'
          OR r.r->>'lock_asset' IS DISTINCT FROM r.lock->>'asset' LIMIT 1),
      (SELECT 'unknown market ' || coalesce(k.market, 'null') FROM (SELECT DISTINCT r.r->>'market' AS market FROM r) k
        WHERE (SELECT m.symbol FROM markets m WHERE m.symbol = k.market) IS NULL LIMIT 1))
    INTO slow_users, stray;
  IF stray IS NOT NULL THEN
    RAISE EXCEPTION 'place_orders: %', stray USING ERRCODE = 'foreign_key_violation';
  END IF;

  -- The sequential decision of 0005, for the slow users' placements only: {i: outcome}.
  IF cardinality(slow_users) > 0 THEN
    FOR q IN
      SELECT x.*,
        (SELECT b.available FROM balances b WHERE b.user_id = x.uid AND b.asset = x.asset) AS available,
        coalesce((SELECT true FROM orders o WHERE o.id = x.id::uuid), false) AS known_id,
        (SELECT o.id::text FROM orders o WHERE o.user_id = x.uid AND o.client_order_id = x.coid) AS known_coid_id
      FROM (
        SELECT (e.ordinality - 1)::int AS i, (e.value->'lock'->>'user_id')::uuid AS uid,
          e.value->'lock'->>'asset' AS asset, e.value->'rows'->0->>'id' AS id,
          e.value->'rows'->0->>'client_order_id' AS coid, (e.value->'lock'->>'amount')::numeric AS amount,
          e.ordinality
        FROM jsonb_array_elements(batch) WITH ORDINALITY e
        WHERE (e.value->'lock'->>'user_id')::uuid = ANY(slow_users)
        OFFSET 0
      ) x
      ORDER BY x.uid, x.asset, x.ordinality
    LOOP
      IF cur_key IS DISTINCT FROM q.uid::text || '|' || q.asset THEN
        cur_key := q.uid::text || '|' || q.asset;
        avail := coalesce(q.available, 0);
      END IF;
      IF cur_user IS DISTINCT FROM q.uid THEN
        cur_user := q.uid;
        seen_ids := '{}';
        seen_coids := '{}';
        seen_coid_ids := '{}';
      END IF;
      IF q.known_id OR q.id = ANY(seen_ids) THEN
        slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'duplicate_order'));
      ELSIF q.coid IS NOT NULL AND (q.known_coid_id IS NOT NULL OR q.coid = ANY(seen_coids)) THEN
        slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'duplicate_client_order_id',
          'order_id', coalesce(q.known_coid_id, seen_coid_ids[array_position(seen_coids, q.coid)])));
      ELSIF q.amount IS NULL OR q.amount <= 0 THEN
        slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'invalid_lock'));
      ELSIF avail < q.amount THEN
        slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'insufficient_funds'));
      ELSE
        avail := avail - q.amount;
        seen_ids := array_append(seen_ids, q.id);
        IF q.coid IS NOT NULL THEN
          seen_coids := array_append(seen_coids, q.coid);
          seen_coid_ids := array_append(seen_coid_ids, q.id);
        END IF;
        slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'locked'));
      END IF;
    END LOOP;
  END IF;

  WITH k AS MATERIALIZED (
    -- A placement decided above keeps that outcome; any other is probed by key: its id, and its
    -- client_order_id among its user's orders.
    SELECT p.*,
      CASE WHEN p.decided IS NULL THEN coalesce((SELECT true FROM orders o WHERE o.id = p.id), false) END AS known_id,
      CASE WHEN p.decided IS NULL AND p.coid IS NOT NULL THEN
        (SELECT o.id FROM orders o WHERE o.user_id = p.uid AND o.client_order_id = p.coid) END AS coid_of
    FROM (
      SELECT (e.ordinality - 1)::int AS i, e.value AS v, (e.value->'lock'->>'user_id')::uuid AS uid,
        e.value->'lock'->>'asset' AS asset, (e.value->'rows'->0->>'id')::uuid AS id,
        e.value->'rows'->0->>'client_order_id' AS coid, (e.value->'lock'->>'amount')::numeric AS amount,
        slow->((e.ordinality - 1)::text) AS decided
      FROM jsonb_array_elements(batch) WITH ORDINALITY e
    ) p
  ), d AS (
    SELECT k.i, k.v, k.uid, k.asset, k.id, k.amount, CASE
        WHEN k.decided IS NOT NULL THEN k.decided->>'outcome'
        WHEN k.known_id THEN 'duplicate_order'
        WHEN k.coid_of IS NOT NULL THEN 'duplicate_client_order_id'
        WHEN k.amount IS NULL OR k.amount <= 0 THEN 'invalid_lock'
        ELSE 'locked' END AS outcome,
      coalesce(k.decided->>'order_id', k.coid_of::text) AS duplicate_of
    FROM k
  ), a AS (
    SELECT d.* FROM d WHERE d.outcome = 'locked'
  ), g AS (
    -- One lock entry per balance row and flush: its postings carry the sum of the row's locks.
    SELECT a.uid, a.asset, sum(a.amount) AS total, min(a.i) AS first_i,
      jsonb_agg(jsonb_build_object('id', a.id, 'amount', a.amount::text) ORDER BY a.i) AS locks
    FROM a GROUP BY a.uid, a.asset
  ), ids AS (
    SELECT g.*, b.available - g.total AS available, b.locked + g.total AS locked,
      nextval('ledger_entries_id_seq') AS entry,
      nextval('ledger_postings_id_seq') AS posting_a,
      nextval('ledger_postings_id_seq') AS posting_l
    FROM (SELECT * FROM g ORDER BY g.first_i) g
    CROSS JOIN LATERAL (
      SELECT b.available, b.locked FROM balances b WHERE b.user_id = g.uid AND b.asset = g.asset LIMIT 1
    ) b
  ), new_orders AS (
    INSERT INTO orders (id, user_id, market, client_order_id, side, type, time_in_force, post_only,
      self_trade_prevention, price, stop_price, quantity, quote_quantity, visible_quantity,
      trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset, locked_amount,
      created_at, updated_at)
    SELECT r.id, r.user_id, r.market, r.client_order_id, r.side, r.type, r.time_in_force,
      coalesce(r.post_only, false), coalesce(r.self_trade_prevention, 'expire_taker'), r.price,
      r.stop_price, r.quantity, r.quote_quantity, r.visible_quantity, r.trailing_offset,
      r.trailing_offset_unit, r.oco_group_id, 'new', r.lock_asset, r.locked_amount, created, created
    FROM (SELECT * FROM a ORDER BY a.i) x, jsonb_populate_recordset(NULL::orders, x.v->'rows') r
  ), entries AS (
    -- Named by the row's first order of the flush (unique: an order is locked once); the
    -- metadata lists every order the entry locks for, with its amount.
    INSERT INTO ledger_entries (id, type, reference, metadata)
    SELECT ids.entry, 'order.lock', ids.locks->0->>'id', jsonb_build_object('orders', ids.locks) FROM ids
  ), postings AS (
    INSERT INTO ledger_postings (id, entry_id, account, user_id, asset, amount)
    SELECT ids.posting_a, ids.entry, 'user_available'::ledger_account, ids.uid, ids.asset, -ids.total FROM ids
    UNION ALL
    SELECT ids.posting_l, ids.entry, 'user_locked'::ledger_account, ids.uid, ids.asset, ids.total FROM ids
  ), balance_rows AS (
    UPDATE balances b SET available = ids.available, locked = ids.locked, updated_at = now()
    FROM ids WHERE b.user_id = ids.uid AND b.asset = ids.asset
  ), audit AS (
    INSERT INTO audit_logs (actor_id, actor_type, action, resource_type, resource_id, ip_address,
      user_agent, request_id, details)
    SELECT (a.v->'audit'->>'actor_id')::uuid, a.v->'audit'->>'actor_type', 'order.place', 'order',
      a.id::text, a.v->'audit'->>'ip_address', a.v->'audit'->>'user_agent',
      a.v->'audit'->>'request_id', coalesce(a.v->'audit'->'details', '{}'::jsonb)
    FROM a
  )
  -- A locked placement carries the balance its row has after the flush and that row's version.
  SELECT coalesce(jsonb_agg(CASE d.outcome
      WHEN 'locked' THEN jsonb_build_object('i', d.i, 'outcome', 'locked', 'available', ids.available::text,
        'locked', ids.locked::text, 'version', ids.posting_l::text, 'created_at', created)
      WHEN 'duplicate_client_order_id' THEN jsonb_build_object('i', d.i, 'outcome', d.outcome, 'order_id', d.duplicate_of)
      ELSE jsonb_build_object('i', d.i, 'outcome', d.outcome) END), '[]'::jsonb)
    INTO result
  FROM d LEFT JOIN ids ON d.outcome = 'locked' AND ids.uid = d.uid AND ids.asset = d.asset;
  RETURN result;
END;
$$;
