-- place_orders (0027) again, the same arguments, decisions, rows and answer, holding its balance
-- row locks for its last statements only (docs/decisions/0020-place-orders-locks-last.md).
-- 0027 locked every balance row of the flush first (FOR UPDATE in its check statement) and kept
-- the locks for the whole call, ~80% of it writing orders, audit rows and ledger entries: at the
-- WebSocket order.batch load, settle_page (which updates the same traders' balance rows) spent
-- ~16% of its active time waiting on place_orders' transactions (pg_stat_activity sampled every
-- 10 ms, its blockers read with pg_blocking_pids).
-- - Now: the flush is decided on the balance rows as read (READ COMMITTED: committed values, no
--   lock), its orders, audit rows and ledger entries written, and only then are its balance rows
--   locked (in (user, asset) order, as every ledger entry does) and updated, each only if its
--   available still covers the flush's locks on it.
-- - Should one not (a lock of another market, a withdrawal, committed since the read), the round
--   is undone (a subtransaction: everything it wrote, and its row locks) and the call goes again
--   as 0027 did: every balance row locked first, then decided.
-- Replaced in place: the serving release calls this signature. test/integration/trading/
-- place-orders-0029.test.ts runs random flushes through this and 0027's and compares the outcomes
-- and every row, and moves a balance row between the read and the lock.
CREATE OR REPLACE FUNCTION place_orders(
  -- the market's lock fence (0022): skipped when f_fence_epoch is null
  f_fence_market text, f_fence_epoch bigint,
  -- per placement
  f_lock_user uuid[], f_lock_asset text[], f_lock_amount numeric[], f_actor_id uuid[], f_actor_type text[], f_ip_address text[], f_user_agent text[],
  f_request_id text[], f_details jsonb[],
  -- per order row
  f_p integer[], f_r_id uuid[], f_r_user_id uuid[], f_market text[], f_client_order_id text[],
  f_side order_side[], f_type order_type[], f_time_in_force time_in_force[],
  f_post_only boolean[], f_self_trade_prevention self_trade_prevention[], f_price numeric[],
  f_stop_price numeric[], f_quantity numeric[], f_quote_quantity numeric[],
  f_visible_quantity numeric[], f_trailing_offset integer[], f_trailing_offset_unit text[],
  f_oco_group_id uuid[], f_r_lock_asset text[], f_locked_amount numeric[])
RETURNS json
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
  seen_ids uuid[];
  seen_coids text[];
  seen_coid_ids text[];
  avail numeric;
  stray text;
  created timestamptz := now();
  locking boolean := false;
  o_json json;
  d_json json;
  g_uid uuid[];
  g_asset text[];
  g_total numeric[];
  g_version bigint[];
  n_rows_locked integer;
  b_json json;
  mark bigint;
  n_placements integer := cardinality(f_lock_user);
  n_rows integer := cardinality(f_p);
  malformed text;
  -- Each placement's id and client id: its first row's.
  f_id uuid[];
  f_coid text[];
BEGIN
  -- The fence first, as pass_lock_fence did (READ COMMITTED: a raise committed meanwhile is
  -- seen, one still running is waited for); the mark lies below every order this call inserts.
  IF f_fence_epoch IS NOT NULL THEN
    PERFORM 1 FROM market_lock_fences f WHERE f.market = f_fence_market AND f.epoch = f_fence_epoch FOR SHARE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'pass_lock_fence: the funds locks of % are fenced off epoch %', f_fence_market, f_fence_epoch
        USING ERRCODE = 'lock_not_available';
    END IF;
    mark := nextval('orders_number_seq');
  END IF;

  -- The arrays' shape: one length per placement array, one per row array.
  IF n_placements IS NULL OR n_rows IS NULL
    OR array_fill(n_placements, ARRAY[8]) IS DISTINCT FROM ARRAY[cardinality(f_lock_asset), cardinality(f_lock_amount),
      cardinality(f_actor_id), cardinality(f_actor_type), cardinality(f_ip_address),
      cardinality(f_user_agent), cardinality(f_request_id), cardinality(f_details)]
    OR array_fill(n_rows, ARRAY[19]) IS DISTINCT FROM ARRAY[cardinality(f_r_id), cardinality(f_r_user_id), cardinality(f_market),
      cardinality(f_client_order_id), cardinality(f_side), cardinality(f_type), cardinality(f_time_in_force),
      cardinality(f_post_only), cardinality(f_self_trade_prevention), cardinality(f_price),
      cardinality(f_stop_price), cardinality(f_quantity), cardinality(f_quote_quantity),
      cardinality(f_visible_quantity), cardinality(f_trailing_offset), cardinality(f_trailing_offset_unit),
      cardinality(f_oco_group_id), cardinality(f_r_lock_asset), cardinality(f_locked_amount)]
  THEN
    RAISE EXCEPTION 'place_orders: the per-placement arrays must all have % elements (f_lock_user''s) and the per-row arrays % (f_p''s)',
      n_placements, n_rows USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- A placement's first row: the first, and each whose placement is not the row's before. (Were
  -- f_p malformed, these arrays would not fit the placements: the check below fails the call.)
  SELECT array_agg(r.id ORDER BY r.n), array_agg(r.coid ORDER BY r.n) INTO f_id, f_coid
  FROM unnest(f_p, f_r_id, f_client_order_id) WITH ORDINALITY AS r(p, id, coid, n)
  WHERE r.n = 1 OR r.p IS DISTINCT FROM f_p[r.n - 1];
  -- What the dropped foreign keys checked per order, once per call: the rows' market exists, and
  -- each row's user and lock asset are its lock's (whose balance row references both).
  WITH e AS (
    SELECT * FROM unnest(f_lock_user, f_lock_asset, f_id, f_coid, f_lock_amount)
      WITH ORDINALITY AS e(uid, asset, id, coid, amount, n)
  ), r AS (
    SELECT r.n, r.p, r.user_id, r.lock_asset, r.market, r.locked_amount, e.uid, e.asset,
      e.amount, r.n = 1 OR r.p <> f_p[r.n - 1] AS is_first
    FROM unnest(f_p, f_r_user_id, f_r_lock_asset, f_market, f_locked_amount)
        WITH ORDINALITY AS r(p, user_id, lock_asset, market, locked_amount, n)
      LEFT JOIN e ON e.n = r.p + 1
  )
  SELECT
    coalesce(
      (SELECT format('a row of user %s locks %s under a lock of %s in %s', r.user_id, r.lock_asset, r.uid, r.asset)
        FROM r WHERE r.user_id IS DISTINCT FROM r.uid OR r.lock_asset IS DISTINCT FROM r.asset LIMIT 1),
      (SELECT 'unknown market ' || coalesce(k.market, 'null') FROM (SELECT DISTINCT r.market FROM r) k
        WHERE (SELECT m.symbol FROM markets m WHERE m.symbol = k.market) IS NULL LIMIT 1))
,
    -- f_p numbers the placements 0, 1, … in order (each with a row: the last row's is checked
    -- below); a placement's first row carries its lock's amount and its other rows none (an
    -- OCO's stop leg: the pair's lock is the limit leg's); a fenced call's rows are all of the
    -- fence's market.
    coalesce(
      (SELECT 'f_p must number the placements 0, 1, … in order, each with a row' FROM r
        WHERE r.p IS NULL OR r.p < 0 OR r.p >= n_placements OR r.p - coalesce(f_p[r.n - 1], -1) NOT IN (0, 1) LIMIT 1),
      (SELECT format('placement %s locks %s, its row %s carries %s', r.p, coalesce(r.amount::text, 'null'), r.n,
          coalesce(r.locked_amount::text, 'null')) FROM r
        WHERE r.locked_amount IS DISTINCT FROM CASE WHEN r.is_first THEN r.amount ELSE 0 END LIMIT 1),
      (SELECT format('row %s is of market %s, the fence of %s', r.n, coalesce(r.market, 'null'), f_fence_market) FROM r
        WHERE f_fence_epoch IS NOT NULL AND r.market IS DISTINCT FROM f_fence_market LIMIT 1))
    INTO stray, malformed;
  IF malformed IS NULL AND (n_rows > 0 OR n_placements > 0) AND f_p[n_rows] IS DISTINCT FROM n_placements - 1 THEN
    malformed := 'f_p must number the placements 0, 1, … in order, each with a row';
  END IF;
  IF malformed IS NOT NULL THEN
    RAISE EXCEPTION 'place_orders: %', malformed USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF stray IS NOT NULL THEN
    RAISE EXCEPTION 'place_orders: %', stray USING ERRCODE = 'foreign_key_violation';
  END IF;

  -- Decided on the balance rows as read, which are locked only once the orders, audit rows and
  -- ledger entries are written, so a settlement waits on this call's locks for its last statement
  -- only (0027 locked them first, for the whole call). Should a row have moved below what was
  -- decided on meanwhile (a lock of another market, a withdrawal), the round is undone and the
  -- call goes again as 0027 did: every row locked first, then decided.
  LOOP
    BEGIN
      IF locking THEN
        -- 0027's order: every balance row involved locked first, in (user, asset) order.
        PERFORM 1 FROM (
          SELECT DISTINCT e.uid, e.asset FROM unnest(f_lock_user, f_lock_asset) AS e(uid, asset) ORDER BY e.uid, e.asset
        ) k CROSS JOIN LATERAL (
          SELECT 1 FROM balances b WHERE b.user_id = k.uid AND b.asset = k.asset FOR UPDATE
        ) b;
      END IF;
      -- The users whose placements need 0005's sequential decision: a balance row the flush
      -- could overdraw, or an id or client_order_id twice among their placements.
      WITH e AS (
        SELECT * FROM unnest(f_lock_user, f_lock_asset, f_id, f_coid, f_lock_amount)
          WITH ORDINALITY AS e(uid, asset, id, coid, amount, n)
      )
      SELECT coalesce(array_agg(DISTINCT s.uid), '{}') INTO slow_users FROM (
        SELECT k.uid FROM (
          SELECT e.uid, e.asset, sum(e.amount) FILTER (WHERE e.amount > 0) AS total
          FROM e GROUP BY e.uid, e.asset
        ) k LEFT JOIN LATERAL (
          SELECT b.available FROM balances b WHERE b.user_id = k.uid AND b.asset = k.asset
        ) b ON true
        WHERE k.total > coalesce(b.available, 0)
        UNION ALL
        SELECT e.uid FROM e GROUP BY e.uid, e.id HAVING count(*) > 1
        UNION ALL
        SELECT e.uid FROM e WHERE e.coid IS NOT NULL GROUP BY e.uid, e.coid HAVING count(*) > 1
      ) s;
      slow := '{}';
      cur_user := NULL;
      cur_key := NULL;

      -- The sequential decision of 0005, for the slow users' placements only: {i: outcome}.
      IF cardinality(slow_users) > 0 THEN
        FOR q IN
          SELECT x.*,
            (SELECT b.available FROM balances b WHERE b.user_id = x.uid AND b.asset = x.asset) AS available,
            coalesce((SELECT true FROM orders o WHERE o.id = x.id), false) AS known_id,
            (SELECT o.id::text FROM orders o WHERE o.user_id = x.uid AND o.client_order_id = x.coid) AS known_coid_id
          FROM (
            SELECT (e.n - 1)::int AS i, e.uid, e.asset, e.id, e.coid, e.amount, e.n
            FROM unnest(f_lock_user, f_lock_asset, f_id, f_coid, f_lock_amount)
              WITH ORDINALITY AS e(uid, asset, id, coid, amount, n)
            WHERE e.uid = ANY(slow_users)
            OFFSET 0
          ) x
          ORDER BY x.uid, x.asset, x.n
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
              seen_coid_ids := array_append(seen_coid_ids, q.id::text);
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
          SELECT (e.n - 1)::int AS i, e.uid, e.asset, e.id, e.coid, e.amount, e.actor_id, e.actor_type,
            e.ip_address, e.user_agent, e.request_id, e.details, slow->((e.n - 1)::text) AS decided
          FROM unnest(f_lock_user, f_lock_asset, f_id, f_coid, f_lock_amount, f_actor_id, f_actor_type,
              f_ip_address, f_user_agent, f_request_id, f_details)
            WITH ORDINALITY AS e(uid, asset, id, coid, amount, actor_id, actor_type, ip_address,
              user_agent, request_id, details, n)
        ) p
      ), d AS (
        SELECT k.*, CASE
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
        -- k: the row's place in the answer's "b".
        SELECT g.*, (row_number() OVER (ORDER BY g.first_i) - 1)::int AS k,
          nextval('ledger_entries_id_seq') AS entry,
          nextval('ledger_postings_id_seq') AS posting_a,
          nextval('ledger_postings_id_seq') AS posting_l
        FROM (SELECT * FROM g ORDER BY g.first_i) g
        CROSS JOIN LATERAL (
          SELECT 1 FROM balances b WHERE b.user_id = g.uid AND b.asset = g.asset LIMIT 1
        ) b
      ), new_orders AS (
        -- The locked placements' rows, in the flush's order (which numbers them).
        INSERT INTO orders (id, user_id, market, client_order_id, side, type, time_in_force, post_only,
          self_trade_prevention, price, stop_price, quantity, quote_quantity, visible_quantity,
          trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset, locked_amount,
          created_at, updated_at)
        SELECT r.id, r.user_id, r.market, r.client_order_id, r.side, r.type, r.time_in_force,
          coalesce(r.post_only, false), coalesce(r.self_trade_prevention, 'expire_taker'), r.price,
          r.stop_price, r.quantity, r.quote_quantity, r.visible_quantity, r.trailing_offset,
          r.trailing_offset_unit, r.oco_group_id, 'new', r.lock_asset, r.locked_amount, created, created
        FROM unnest(f_p, f_r_id, f_r_user_id, f_market, f_client_order_id, f_side, f_type,
            f_time_in_force, f_post_only, f_self_trade_prevention, f_price, f_stop_price, f_quantity,
            f_quote_quantity, f_visible_quantity, f_trailing_offset, f_trailing_offset_unit,
            f_oco_group_id, f_r_lock_asset, f_locked_amount)
          WITH ORDINALITY AS r(p, id, user_id, market, client_order_id, side, type, time_in_force,
            post_only, self_trade_prevention, price, stop_price, quantity, quote_quantity,
            visible_quantity, trailing_offset, trailing_offset_unit, oco_group_id, lock_asset,
            locked_amount, n)
        WHERE r.p IN (SELECT a.i FROM a)
        ORDER BY r.n
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
      ), audit AS (
        INSERT INTO audit_logs (actor_id, actor_type, action, resource_type, resource_id, ip_address,
          user_agent, request_id, details)
        SELECT a.actor_id, a.actor_type, 'order.place', 'order', a.id::text, a.ip_address, a.user_agent,
          a.request_id, coalesce(a.details, '{}'::jsonb)
        FROM a
      )

      -- A number per placement (its balance row's k when locked, else the refusal's code), the
      -- ids the duplicate_client_order_id placements name, and the balance rows to lock, by k.
      SELECT coalesce(json_agg(CASE d.outcome WHEN 'locked' THEN ids.k WHEN 'insufficient_funds' THEN -1
          WHEN 'duplicate_order' THEN -2 WHEN 'duplicate_client_order_id' THEN -3 ELSE -4 END ORDER BY d.i), '[]'),
        coalesce(json_agg(d.duplicate_of ORDER BY d.i) FILTER (WHERE d.outcome = 'duplicate_client_order_id'), '[]'),
        (SELECT array_agg(x.uid ORDER BY x.k) FROM ids x), (SELECT array_agg(x.asset ORDER BY x.k) FROM ids x),
        (SELECT array_agg(x.total ORDER BY x.k) FROM ids x), (SELECT array_agg(x.posting_l ORDER BY x.k) FROM ids x)
        INTO o_json, d_json, g_uid, g_asset, g_total, g_version
      FROM d LEFT JOIN ids ON d.outcome = 'locked' AND ids.uid = d.uid AND ids.asset = d.asset;

      -- The balance rows, locked last (in (user, asset) order, as every ledger entry does) and
      -- only now updated: a balance row moved below what was decided on since it was read sends
      -- the call round again, locking first.
      PERFORM 1 FROM (
        SELECT g.uid, g.asset FROM unnest(g_uid, g_asset) AS g(uid, asset) ORDER BY g.uid, g.asset
      ) g CROSS JOIN LATERAL (
        SELECT 1 FROM balances b WHERE b.user_id = g.uid AND b.asset = g.asset FOR UPDATE
      ) b;
      WITH u AS (
        UPDATE balances b SET available = b.available - g.total, locked = b.locked + g.total, updated_at = now()
        FROM unnest(g_uid, g_asset, g_total, g_version) WITH ORDINALITY AS g(uid, asset, total, version, k)
        WHERE b.user_id = g.uid AND b.asset = g.asset AND b.available >= g.total
        RETURNING g.k, b.available::text AS available, b.locked::text AS locked, g.version::text AS version
      )
      SELECT count(*), coalesce(json_agg(json_build_array(u.available, u.locked, u.version) ORDER BY u.k), '[]')
        INTO n_rows_locked, b_json FROM u;
      IF n_rows_locked < coalesce(cardinality(g_uid), 0) THEN
        IF locking THEN
          RAISE EXCEPTION 'place_orders: a balance row locked first fell below its flush''s locks';
        END IF;
        RAISE EXCEPTION 'place_orders: a balance row moved; again, locking first' USING ERRCODE = 'PX001';
      END IF;
      RETURN json_build_object('mark', mark, 'o', o_json, 'd', d_json, 'b', b_json);
    EXCEPTION WHEN SQLSTATE 'PX001' THEN
      locking := true;
    END;
  END LOOP;
END;
$$;
