-- Follow-ups to 0017 and 0018 (review of 2026-12-06).
-- place_orders (0017) again, two changes; what it decides and writes is otherwise unchanged:
-- - `lock_timeout = '3s'` for the function (a function's SET applies to every lock wait inside
--   it): the market's object gives up on a flush's funds lock after 10 s and answers its
--   placements NOT_BOOKED (durable-objects/market/order-intake.ts). A call still waiting on a
--   balance row then committed later, leaving orders `new` with funds locked that no book
--   holds and nothing releases. Now Postgres gives up first and rolls the whole call back
--   (SQLSTATE 55P03): nothing is locked for a flush the object abandoned.
-- - the balances are updated relatively (available - total, locked + total) and the answer
--   carries the row as updated: a balance row created during the call was never locked by its
--   first statement, so the absolute values read earlier could overwrite a concurrent change.
--   An overdraw now fails the CHECK (>= 0) and the call, as any other refused statement.
CREATE OR REPLACE FUNCTION place_orders(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
SET lock_timeout = '3s'
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
    SELECT g.*,
      nextval('ledger_entries_id_seq') AS entry,
      nextval('ledger_postings_id_seq') AS posting_a,
      nextval('ledger_postings_id_seq') AS posting_l
    FROM (SELECT * FROM g ORDER BY g.first_i) g
    CROSS JOIN LATERAL (
      SELECT 1 FROM balances b WHERE b.user_id = g.uid AND b.asset = g.asset LIMIT 1
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
    UPDATE balances b SET available = b.available - ids.total, locked = b.locked + ids.total, updated_at = now()
    FROM ids WHERE b.user_id = ids.uid AND b.asset = ids.asset
    RETURNING b.user_id, b.asset, b.available, b.locked
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
      WHEN 'locked' THEN jsonb_build_object('i', d.i, 'outcome', 'locked', 'available', bal.available::text,
        'locked', bal.locked::text, 'version', ids.posting_l::text, 'created_at', created)
      WHEN 'duplicate_client_order_id' THEN jsonb_build_object('i', d.i, 'outcome', d.outcome, 'order_id', d.duplicate_of)
      ELSE jsonb_build_object('i', d.i, 'outcome', d.outcome) END), '[]'::jsonb)
    INTO result
  FROM d LEFT JOIN ids ON d.outcome = 'locked' AND ids.uid = d.uid AND ids.asset = d.asset
    LEFT JOIN balance_rows bal ON bal.user_id = ids.uid AND bal.asset = ids.asset;
  RETURN result;
END;
$$;
--> statement-breakpoint
-- settle_page over jsonb pages (0016) again, beside 0018's json one: 0018 dropped it, but
-- migrations run while the previous version still serves (docs/ops/deploy.md), so its market
-- objects (and a rollback) would call a function that no longer exists (42883, retried forever:
-- no market settles). The caller names the overload by its cast (`::jsonb` or `::json`), so both
-- coexist. Drop this one a release after 0018's caller serves everywhere.
CREATE OR REPLACE FUNCTION settle_page(p_market text, p_epoch text, p_pages jsonb, p_base_asset text,
  p_quote_asset text, p_base_decimals integer, p_wait boolean) RETURNS text
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_cur_seq bigint;
  v_cur_epoch text;
  v_fresh jsonb;
  v_top_seq bigint;
  v_n_fresh integer;
  v_n_trades integer;
  v_ids uuid[];
  v_known jsonb;
  v_deltas jsonb;
  v_changed jsonb;
  v_changed_ids uuid[];
  v_unit numeric := ('1' || repeat('0', p_base_decimals))::numeric;
  v_ords jsonb;
  v_trs jsonb;
  v_moves jsonb;
  v_listed jsonb;
  v_problem text;
  v_entry_id bigint;
  v_result_balances jsonb := '[]'::jsonb;
  v_fallback CONSTANT text := '{"status":"fallback","reason":%s}';
BEGIN
  -- The cursor row, locked for this transaction (a market's first page creates it).
  IF p_wait THEN
    SELECT c.last_seq, c.epoch INTO v_cur_seq, v_cur_epoch FROM settlement_cursors c
      WHERE c.market = p_market FOR UPDATE;
  ELSE
    SELECT c.last_seq, c.epoch INTO v_cur_seq, v_cur_epoch FROM settlement_cursors c
      WHERE c.market = p_market FOR UPDATE SKIP LOCKED;
  END IF;
  IF NOT FOUND THEN
    INSERT INTO settlement_cursors (market, last_seq) VALUES (p_market, 0)
      ON CONFLICT DO NOTHING RETURNING last_seq, epoch INTO v_cur_seq, v_cur_epoch;
    IF NOT FOUND THEN
      IF NOT p_wait THEN RETURN '{"status":"busy"}'; END IF;
      SELECT c.last_seq, c.epoch INTO v_cur_seq, v_cur_epoch FROM settlement_cursors c
        WHERE c.market = p_market FOR UPDATE;
    END IF;
  END IF;
  IF p_epoch IS NOT NULL AND v_cur_epoch IS NOT NULL AND p_epoch <> v_cur_epoch THEN
    RETURN json_build_object('status', 'epoch', 'cursor_epoch', v_cur_epoch)::text;
  END IF;

  SELECT coalesce(jsonb_agg(x.value ORDER BY (x.value->>'seq')::bigint), '[]'::jsonb),
      max((x.value->>'seq')::bigint), count(*)
    INTO v_fresh, v_top_seq, v_n_fresh
    FROM jsonb_array_elements(p_pages) pg, jsonb_array_elements(pg.value) x
    WHERE (x.value->>'seq')::bigint > v_cur_seq;
  IF v_n_fresh = 0 THEN
    RETURN json_build_object('status', 'ok', 'last_seq', v_cur_seq, 'entries', 0, 'trades', 0,
      'balances', '[]'::json)::text;
  END IF;

  SELECT x.p INTO v_problem FROM (
    SELECT CASE
        WHEN e.kind = 'trade' AND (e."priceMinor" IS NULL OR e."quantityMinor" IS NULL) THEN 'a trade without minor units'
        WHEN e.kind = 'order' AND e.event = 'amended' THEN 'an amendment'
        WHEN NOT (e.kind = 'trade' OR (e.kind = 'order' AND e.event IN ('accepted', 'done', 'rejected', 'triggered')))
          THEN 'an entry of another kind'
        WHEN EXISTS (SELECT 1 FROM unnest(ARRAY[e."orderId", e."takerOrderId", e."makerOrderId"]) i
            WHERE i !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
          THEN 'an order id that is not a uuid'
      END AS p
    FROM jsonb_to_recordset(v_fresh) AS e(kind text, event text, "priceMinor" text, "quantityMinor" text,
      "orderId" text, "takerOrderId" text, "makerOrderId" text)
  ) x WHERE x.p IS NOT NULL LIMIT 1;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;

  SELECT coalesce(array_agg(DISTINCT i::uuid ORDER BY i::uuid), '{}') INTO v_ids
    FROM jsonb_to_recordset(v_fresh) AS e("orderId" text, "takerOrderId" text, "makerOrderId" text),
      unnest(ARRAY[e."orderId", e."takerOrderId", e."makerOrderId"]) i
    WHERE i IS NOT NULL;
  -- The orders named, locked in id order and read ONCE into `v_known` (id → its row): every
  -- later step looks an order up there, never joins the table again.
  SELECT coalesce(jsonb_object_agg(o.id::text, jsonb_build_object('user_id', o.user_id, 'status', o.status,
      'lock_asset', o.lock_asset, 'locked', o.locked_amount, 'released', o.released_amount,
      'consumed', o.consumed_amount, 'filled_quantity', o.filled_quantity, 'filled_quote', o.filled_quote,
      'oco', o.oco_group_id IS NOT NULL)), '{}'::jsonb)
    INTO v_known
    FROM (SELECT * FROM orders o WHERE o.id = ANY(v_ids) ORDER BY o.id FOR UPDATE) o;
  IF EXISTS (SELECT 1 FROM jsonb_each(v_known) k WHERE (k.value->>'oco')::boolean) THEN
    RETURN format(v_fallback, to_json('an OCO leg'::text));
  END IF;
  -- A trade settled already is found by the unique (market, trade_id) index when the trades
  -- are inserted (last): the statement fails and the planner takes the page. No query for it
  -- here: every shape of one was planned, on some statistics, as a scan of the market's trades.

  -- Each fill in minor units, as settleMinorFill computes it: quote = ⌊price × quantity / 10^base
  -- decimals⌋; each party's fee in the asset it receives, at its side's rate, rounded up.
  WITH e AS (
    SELECT * FROM jsonb_to_recordset(v_fresh) AS e(seq bigint, kind text, ts bigint, "tradeId" text,
      price text, quantity text, "priceMinor" numeric, "quantityMinor" numeric, "takerSide" text,
      "takerOrderId" uuid, "makerOrderId" uuid, "makerFeeBps" integer, "takerFeeBps" integer)
    WHERE e.kind = 'trade'
  ), f AS (
    SELECT e.*, div(e."priceMinor" * e."quantityMinor", v_unit) AS quote,
      CASE WHEN e."takerSide" = 'buy' THEN e."takerOrderId" ELSE e."makerOrderId" END AS buy_id,
      CASE WHEN e."takerSide" = 'buy' THEN e."makerOrderId" ELSE e."takerOrderId" END AS sell_id,
      CASE WHEN e."takerSide" = 'buy' THEN e."takerFeeBps" ELSE e."makerFeeBps" END AS buyer_bps,
      CASE WHEN e."takerSide" = 'sell' THEN e."takerFeeBps" ELSE e."makerFeeBps" END AS seller_bps
    FROM e
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('seq', f.seq, 'ts', f.ts, 'trade_id', f."tradeId",
      'price_text', f.price, 'quantity_text', f.quantity, 'price', f."priceMinor", 'base', f."quantityMinor",
      'quote', f.quote, 'taker_side', f."takerSide", 'buy_id', f.buy_id, 'sell_id', f.sell_id,
      'buyer_id', f.buyer_id, 'seller_id', f.seller_id,
      'buyer_fee', div(f."quantityMinor" * f.buyer_bps + 9999, 10000),
      'seller_fee', div(f.quote * f.seller_bps + 9999, 10000)) ORDER BY f.seq), '[]'::jsonb),
    count(*), CASE WHEN bool_or(f.buyer_id IS NULL OR f.seller_id IS NULL) THEN 'a trade of an order Postgres does not have' END
    INTO v_trs, v_n_trades, v_problem
    FROM (SELECT f.*, (v_known -> f.buy_id::text ->> 'user_id')::uuid AS buyer_id,
        (v_known -> f.sell_id::text ->> 'user_id')::uuid AS seller_id FROM f) f;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;

  -- Per order: what its fills consumed and filled, its closing entry, and what it becomes.
  WITH oe AS (
    SELECT * FROM jsonb_to_recordset(v_fresh) AS e(seq bigint, kind text, ts bigint, event text,
      "orderId" uuid, status text, reason text)
    WHERE e.kind = 'order' AND e.event <> 'triggered'
  ), fills AS (
    SELECT id, sum(consumed) AS consumed, sum(base) AS base, sum(quote) AS quote, count(*) AS n,
      max(seq) AS last_seq
    FROM (SELECT (t->>'buy_id')::uuid AS id, (t->>'quote')::numeric AS consumed, (t->>'base')::numeric AS base,
            (t->>'quote')::numeric AS quote, (t->>'seq')::bigint AS seq FROM jsonb_array_elements(v_trs) t
          UNION ALL
          SELECT (t->>'sell_id')::uuid, (t->>'base')::numeric, (t->>'base')::numeric, (t->>'quote')::numeric,
            (t->>'seq')::bigint FROM jsonb_array_elements(v_trs) t) x
    GROUP BY id
  ), closes AS (
    SELECT "orderId" AS id, count(*) AS n, min(seq) AS seq,
      (array_agg(event ORDER BY seq))[1] AS event, (array_agg(status ORDER BY seq))[1] AS status,
      (array_agg(reason ORDER BY seq))[1] AS reason, (array_agg(ts ORDER BY seq))[1] AS ts
    FROM oe WHERE event IN ('done', 'rejected') GROUP BY "orderId"
  ), named AS (
    SELECT "orderId" AS id, bool_or(event = 'accepted') AS accepted, bool_or(event <> 'rejected') AS must_exist
    FROM oe GROUP BY "orderId"
    UNION ALL SELECT id, false, true FROM fills
  ), touched AS (
    SELECT id, bool_or(accepted) AS accepted, bool_or(must_exist) AS must_exist FROM named GROUP BY id
  ), planned AS (
    SELECT t.id, t.accepted, t.must_exist, o IS NOT NULL AS known, (o->>'user_id')::uuid AS user_id,
      o->>'status' AS was, o->>'lock_asset' AS lock_asset, (o->>'locked')::numeric AS locked,
      (o->>'released')::numeric AS released,
      (o->>'consumed')::numeric + coalesce(f.consumed, 0) AS consumed,
      (o->>'filled_quantity')::numeric + coalesce(f.base, 0) AS filled_quantity,
      (o->>'filled_quote')::numeric + coalesce(f.quote, 0) AS filled_quote,
      coalesce(f.n, 0) AS fills, f.last_seq AS last_fill, c.n AS closes, c.seq AS close_seq, c.event AS close_event,
      c.status AS close_status, c.reason AS close_reason, c.ts AS close_ts,
      (o->>'consumed')::numeric AS consumed_before
    FROM touched t CROSS JOIN LATERAL (SELECT v_known -> t.id::text AS o) k LEFT JOIN fills f ON f.id = t.id
      LEFT JOIN closes c ON c.id = t.id
  ), decided AS (
    SELECT p.*,
      -- A closing entry closes unless the order is final already; a rejection only a placement
      -- that never traded (see planSettlement).
      p.close_seq IS NOT NULL AND p.was NOT IN ('filled', 'cancelled', 'expired', 'rejected')
        AND (p.close_event = 'done' OR p.was = 'pending' OR (p.was = 'new' AND p.consumed_before = 0)) AS closing
    FROM planned p WHERE p.known
  )
  SELECT
    (SELECT CASE
        WHEN bool_or(p.must_exist AND NOT p.known) THEN 'an order Postgres does not have'
        WHEN bool_or(p.closes > 1) THEN 'an order closed twice'
        WHEN bool_or(p.known AND p.close_seq IS NOT NULL AND p.last_fill > p.close_seq) THEN 'a fill after its order closed'
        WHEN bool_or(p.known AND p.close_event = 'rejected' AND p.fills > 0) THEN 'a rejection of an order that filled'
        WHEN bool_or(p.known AND p.consumed + p.released > p.locked) THEN 'a fill overdrawing its lock'
      END FROM planned p),
    coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'user_id', d.user_id, 'lock_asset', d.lock_asset,
      'consumed', d.consumed, 'filled_quantity', d.filled_quantity, 'filled_quote', d.filled_quote,
      'release', CASE WHEN d.closing THEN d.locked - d.released - d.consumed ELSE 0 END,
      'status', CASE
        WHEN d.closing AND d.close_event = 'rejected' THEN 'rejected'
        WHEN d.closing THEN CASE WHEN d.close_status IN ('filled', 'cancelled', 'expired') THEN d.close_status ELSE 'cancelled' END
        WHEN d.fills > 0 AND d.was IN ('pending', 'new') THEN 'partially_filled'
        WHEN d.accepted AND d.was = 'pending' THEN 'new'
        ELSE d.was END,
      'closing', d.closing, 'close_seq', d.close_seq, 'close_ts', d.close_ts, 'reason', d.close_reason)), '[]'::jsonb)
    INTO v_problem, v_ords
    FROM decided d;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;

  -- The movements, in entry order (a trade's six, a closing order's release), netted below.
  WITH m AS (
    SELECT (t->>'seq')::bigint AS seq, 'trade:' || (t->>'trade_id') AS item, x.*
    FROM jsonb_array_elements(v_trs) t, LATERAL (VALUES
      ('user_locked', (t->>'buyer_id')::uuid, p_quote_asset, -(t->>'quote')::numeric),
      ('user_available', (t->>'seller_id')::uuid, p_quote_asset, (t->>'quote')::numeric - (t->>'seller_fee')::numeric),
      ('fee_income', NULL::uuid, p_quote_asset, (t->>'seller_fee')::numeric),
      ('user_locked', (t->>'seller_id')::uuid, p_base_asset, -(t->>'base')::numeric),
      ('user_available', (t->>'buyer_id')::uuid, p_base_asset, (t->>'base')::numeric - (t->>'buyer_fee')::numeric),
      ('fee_income', NULL::uuid, p_base_asset, (t->>'buyer_fee')::numeric)) AS x(account, user_id, asset, amount)
    UNION ALL
    SELECT (o->>'close_seq')::bigint, 'order.release:' || (o->>'id'), x.*
    FROM jsonb_array_elements(v_ords) o, LATERAL (VALUES
      ('user_locked', (o->>'user_id')::uuid, o->>'lock_asset', -(o->>'release')::numeric),
      ('user_available', (o->>'user_id')::uuid, o->>'lock_asset', (o->>'release')::numeric)) AS x(account, user_id, asset, amount)
    WHERE (o->>'release')::numeric > 0
  )
  SELECT
    (SELECT coalesce(jsonb_agg(jsonb_build_object('account', account, 'user_id', user_id, 'asset', asset,
        'amount', amount) ORDER BY asset, account, user_id), '[]'::jsonb)
      FROM (SELECT account, user_id, asset, sum(amount) AS amount FROM m GROUP BY account, user_id, asset) n
      WHERE amount <> 0),
    (SELECT coalesce(jsonb_agg(l ORDER BY seq), '[]'::jsonb) FROM (SELECT DISTINCT seq, item AS l FROM m) d)
    INTO v_moves, v_listed;

  IF jsonb_array_length(v_moves) > 0 THEN
    INSERT INTO ledger_entries (type, reference, metadata)
      VALUES ('trade.settlement', p_market || ':' || v_top_seq, jsonb_build_object('entries', v_listed))
      ON CONFLICT (type, reference) DO NOTHING RETURNING id INTO v_entry_id;
    IF v_entry_id IS NULL THEN RETURN format(v_fallback, to_json('its journal entry exists'::text)); END IF;
  END IF;

  -- Each order row found by its key and its change looked up by id (no join for the planner to
  -- turn into a scan of the table).
  SELECT jsonb_object_agg(x->>'id', x), array_agg((x->>'id')::uuid) INTO v_changed, v_changed_ids
    FROM jsonb_array_elements(v_ords) x;
  UPDATE orders o SET
    status = (v_changed -> o.id::text ->> 'status')::order_status,
    consumed_amount = (v_changed -> o.id::text ->> 'consumed')::numeric,
    released_amount = o.released_amount + (v_changed -> o.id::text ->> 'release')::numeric,
    filled_quantity = (v_changed -> o.id::text ->> 'filled_quantity')::numeric,
    filled_quote = (v_changed -> o.id::text ->> 'filled_quote')::numeric,
    closed_at = CASE WHEN (v_changed -> o.id::text ->> 'closing')::boolean
      THEN to_timestamp((v_changed -> o.id::text ->> 'close_ts')::bigint / 1000.0) ELSE o.closed_at END,
    updated_at = now()
  WHERE o.id = ANY(v_changed_ids);

  -- The events in entry order (a trade: the buyer's, then the seller's), as the planner makes them.
  INSERT INTO event_outbox (stream, envelope)
  SELECT 'trading:events', jsonb_build_object('id', gen_random_uuid(), 'type', ev.type,
      'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'user_id', ev.user_id, 'payload', ev.payload,
      'metadata', jsonb_build_object('ip_address', NULL, 'user_agent', NULL, 'request_id', NULL))
  FROM (
    SELECT e.seq, 0 AS k, 'order.accepted' AS type,
      (v_known -> e."orderId"::text ->> 'user_id')::uuid AS user_id,
      jsonb_build_object('order_id', e."orderId", 'market', p_market) AS payload
    FROM jsonb_to_recordset(v_fresh) AS e(seq bigint, kind text, event text, "orderId" uuid)
    WHERE e.kind = 'order' AND e.event = 'accepted' AND v_known -> e."orderId"::text IS NOT NULL
    UNION ALL
    SELECT (t->>'seq')::bigint, s.k, 'trade.executed', (t->>(s.side || 'er_id'))::uuid,
      jsonb_build_object('market', p_market, 'trade_id', t->>'trade_id', 'price', t->>'price_text',
        'quantity', t->>'quantity_text', 'taker_side', t->>'taker_side',
        'order_id', t->>(s.side || '_id'), 'side', s.side)
    FROM jsonb_array_elements(v_trs) t, (VALUES (0, 'buy'), (1, 'sell')) AS s(k, side)
    UNION ALL
    SELECT (o->>'close_seq')::bigint, 0,
      CASE WHEN o->>'status' = 'filled' THEN 'order.filled' ELSE 'order.cancelled' END, (o->>'user_id')::uuid,
      jsonb_build_object('order_id', o->>'id', 'market', p_market, 'status', o->>'status')
        || CASE WHEN coalesce(o->>'reason', '') <> '' THEN jsonb_build_object('reason', o->>'reason') ELSE '{}'::jsonb END
    FROM jsonb_array_elements(v_ords) o WHERE (o->>'closing')::boolean
  ) ev
  ORDER BY ev.seq, ev.k;

  UPDATE settlement_cursors SET last_seq = v_top_seq, epoch = coalesce(epoch, p_epoch), updated_at = now()
    WHERE market = p_market;

  -- The balances late, just before the commit: the flushes' funds locks (place_orders) wait
  -- for these rows, so they are held for the end of the statement only.
  IF v_entry_id IS NOT NULL THEN
    -- Each balance row's change, keyed '<user>/<asset>' (the upsert looks its row's up).
    SELECT jsonb_object_agg(d.user_id || '/' || d.asset, jsonb_build_object('user_id', d.user_id, 'asset', d.asset,
        'available', d.available, 'locked', d.locked))
      INTO v_deltas
      FROM (SELECT x->>'user_id' AS user_id, x->>'asset' AS asset,
          sum(CASE WHEN x->>'account' = 'user_available' THEN (x->>'amount')::numeric ELSE 0 END) AS available,
          sum(CASE WHEN x->>'account' = 'user_locked' THEN (x->>'amount')::numeric ELSE 0 END) AS locked
        FROM jsonb_array_elements(v_moves) x WHERE x->>'user_id' IS NOT NULL GROUP BY 1, 2) d;
    -- Balance rows in (user, asset) order, as every ledger entry changes them (no deadlocks);
    -- one that would go negative fails the statement (balances_non_negative). A row that
    -- exists is proposed as zeros (its CHECK is on the proposal) and takes its change on conflict.
    WITH d AS (
      SELECT (x.value->>'user_id')::uuid AS user_id, x.value->>'asset' AS asset,
        (x.value->>'available')::numeric AS available, (x.value->>'locked')::numeric AS locked
      FROM jsonb_each(v_deltas) x
    ), upserted AS (
      INSERT INTO balances (user_id, asset, available, locked)
      SELECT d.user_id, d.asset,
        CASE WHEN b.found THEN 0 ELSE d.available END,
        CASE WHEN b.found THEN 0 ELSE d.locked END
      FROM d LEFT JOIN LATERAL (SELECT true AS found FROM balances b
        WHERE b.user_id = d.user_id AND b.asset = d.asset LIMIT 1) b ON true
      ORDER BY d.user_id, d.asset
      ON CONFLICT (user_id, asset) DO UPDATE SET
        available = balances.available
          + (v_deltas -> (excluded.user_id::text || '/' || excluded.asset) ->> 'available')::numeric,
        locked = balances.locked + (v_deltas -> (excluded.user_id::text || '/' || excluded.asset) ->> 'locked')::numeric,
        updated_at = now()
      RETURNING user_id, asset, available, locked
    ), posted AS (
      INSERT INTO ledger_postings (entry_id, account, user_id, asset, amount)
      SELECT v_entry_id, (x->>'account')::ledger_account, (x->>'user_id')::uuid, x->>'asset', (x->>'amount')::numeric
      FROM jsonb_array_elements(v_moves) x
      RETURNING id, user_id, asset
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', u.user_id, 'asset', u.asset,
        'available', u.available::text, 'locked', u.locked::text, 'version', v.version::text)), '[]'::jsonb)
      INTO v_result_balances
      FROM upserted u
      JOIN (SELECT user_id, asset, max(id) AS version FROM posted WHERE user_id IS NOT NULL GROUP BY 1, 2) v
        ON v.user_id = u.user_id AND v.asset = u.asset;
  END IF;
  -- Last, so that `created_at` is as close to the commit as the statement gets.
  INSERT INTO trades (market, trade_id, seq, price, quantity, quote_amount, taker_side, buy_order_id,
    sell_order_id, buyer_id, seller_id, buyer_fee, seller_fee, executed_at, created_at)
  SELECT p_market, t->>'trade_id', (t->>'seq')::bigint, (t->>'price')::numeric, (t->>'base')::numeric,
    (t->>'quote')::numeric, (t->>'taker_side')::order_side, (t->>'buy_id')::uuid, (t->>'sell_id')::uuid,
    (t->>'buyer_id')::uuid, (t->>'seller_id')::uuid, (t->>'buyer_fee')::numeric, (t->>'seller_fee')::numeric,
    to_timestamp((t->>'ts')::bigint / 1000.0), clock_timestamp()
  FROM jsonb_array_elements(v_trs) t ORDER BY (t->>'seq')::bigint;

  RETURN json_build_object('status', 'ok', 'last_seq', v_top_seq, 'entries', v_n_fresh, 'trades', v_n_trades,
    'balances', v_result_balances)::text;
END;
$$;
